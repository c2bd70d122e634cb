package io.statefulroute.core.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One atomic operation's Lua script, read from {@code lua/<name>.lua} with the shared
 * helpers of {@code lua/common.lua} it calls in front, and its SHA-1 for {@code EVALSHA}.
 *
 * <p>Only the helpers a script calls: Redis runs the whole source on every call, and each
 * {@code local function} statement builds a closure every time, on Redis' one thread.
 */
record LuaScript(String name, String source, String sha) {

    /**
     * A helper of common.lua: the comment lines right above it, its {@code local function}
     * line, and its body up to the first {@code end} at the start of a line.
     */
    private static final Pattern HELPER = Pattern.compile("(?:^--[^\\n]*\\n)*^local function (\\w+)\\(.*?^end\\n",
            Pattern.MULTILINE | Pattern.DOTALL);

    /** Name to source of every helper of common.lua, in its order. */
    private static final Map<String, String> HELPERS = helpers(read("common"));

    static final LuaScript LINK_IF_ABSENT = load("link_if_absent");

    static final LuaScript SET_LINK = load("set_link");

    static final LuaScript TRY_SET_LINK = load("try_set_link");

    static final LuaScript COMPARE_AND_SET_LINK = load("compare_and_set_link");

    static final LuaScript REMOVE_LINK = load("remove_link");

    static final LuaScript GET_LINK = load("get_link");

    static final LuaScript REGISTER_SERVICE = load("register_service");

    static final LuaScript HEARTBEAT = load("heartbeat");

    static final LuaScript GET_PODS = load("get_pods");

    static final LuaScript SET_WORKLOAD = load("set_workload");

    static final LuaScript SERVER_IDENTITY = load("server_identity");

    static LuaScript load(String name) {
        String script = read(name);
        String source = calledHelpers(script, HELPERS) + script;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
            return new LuaScript(name, source, HexFormat.of().formatHex(digest));
        }
        catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-1 is required of every Java runtime", ex);
        }
    }

    static Map<String, String> helpers(String common) {
        Map<String, String> helpers = new LinkedHashMap<>();
        Matcher helper = HELPER.matcher(common);
        while (helper.find()) {
            helpers.put(helper.group(1), helper.group());
        }
        return helpers;
    }

    /** The helpers the script calls, and those they call, in common.lua's order (a helper may call an earlier one). */
    static String calledHelpers(String script, Map<String, String> helpers) {
        List<String> called = new ArrayList<>();
        String calling = script;
        boolean found = true;
        while (found) {
            found = false;
            for (Map.Entry<String, String> helper : helpers.entrySet()) {
                if (!called.contains(helper.getKey()) && calls(calling, helper.getKey())) {
                    called.add(helper.getKey());
                    calling = calling + helper.getValue();
                    found = true;
                }
            }
        }
        StringBuilder prepended = new StringBuilder();
        helpers.forEach((name, source) -> {
            if (called.contains(name)) {
                prepended.append(source).append('\n');
            }
        });
        return prepended.toString();
    }

    private static boolean calls(String source, String helper) {
        return Pattern.compile("\\b" + helper + "\\(").matcher(source).find();
    }

    private static String read(String name) {
        String path = "lua/" + name + ".lua";
        try (InputStream in = LuaScript.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("Missing script resource " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Cannot read script " + path, ex);
        }
    }
}
