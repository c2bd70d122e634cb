package io.statefulroute.core.redis;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which of common.lua's helpers each script gets; the contract tests run every script on real Redis. */
class LuaScriptTest {

    private static final Pattern DEFINED = Pattern.compile("^local function (\\w+)\\(", Pattern.MULTILINE);

    @Test
    void everyHelperOfCommonIsFound() throws IOException {
        String common = resource("common");
        assertThat(LuaScript.helpers(common).keySet()).containsExactlyElementsOf(defined(common))
            .contains("pod_of", "write_link", "keep_tracked", "now_ms");
    }

    @Test
    void aHelperComesWithTheCommentAboveItAndItsWholeBody() throws IOException {
        String writeLink = LuaScript.helpers(resource("common")).get("write_link");
        assertThat(writeLink).startsWith("-- ttl: the link's life in ms")
            .contains("redis.call('SET', key, pod, 'PX', ttl)")
            .endsWith("  end\nend\n");
    }

    @Test
    void aScriptCarriesOnlyTheHelpersItCalls() {
        assertThat(defined(LuaScript.GET_LINK.source())).containsExactly("pod_of", "remaining_ms");
        assertThat(defined(LuaScript.HEARTBEAT.source())).containsExactly("now_ms");
        assertThat(LuaScript.LINK_IF_ABSENT.source()).startsWith("-- setLinkedPodIfAbsent");
    }

    @Test
    void aHelperBringsTheEarlierHelpersItCalls() {
        Map<String, String> helpers = LuaScript.helpers("""
                local function first()
                  return 1
                end

                -- calls first
                local function second()
                  return first() + 1
                end

                local function unused()
                  return 0
                end
                """);

        String prepended = LuaScript.calledHelpers("return second()", helpers);

        assertThat(defined(prepended)).containsExactly("first", "second");
        assertThat(prepended).contains("-- calls first\n");
        assertThat(LuaScript.calledHelpers("return secondary()", helpers)).isEmpty();
    }

    private static List<String> defined(String source) {
        Matcher definition = DEFINED.matcher(source);
        return definition.results().map((match) -> match.group(1)).toList();
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = LuaScript.class.getResourceAsStream("lua/" + name + ".lua")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
