package io.statefulroute.cloud.docs;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.statefulroute.cloud.loadbalancer.StatefulRouteServiceInstanceListSupplier;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * README.md and the reference under {@code docs/} stay true to the repository and the code:
 * every relative link reaches a file, and its anchor a heading of that file; every
 * {@code stateful-route.*} property they name exists; and {@code docs/configuration.md} lists
 * every property, with its default. The properties are those of the configuration metadata of
 * the starter and of this module, both on this module's test classpath.
 */
class DocumentationTest {

    private static final Path ROOT = repositoryRoot();

    private static final Path CONFIGURATION = ROOT.resolve("docs/configuration.md");

    /** {@code [text](target)} and {@code ![alt](target)}, with an optional title. */
    private static final Pattern LINK = Pattern.compile("!?\\[[^\\]]*\\]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)");

    private static final Pattern INLINE_CODE = Pattern.compile("`[^`]*`");

    private static final Pattern URI_SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*:");

    private static final Pattern HEADING = Pattern.compile("^#{1,6} +(.*?)(?: +#+)? *$");

    /**
     * A property name, in prose, code or a command line ({@code --stateful-route.x=y}); a
     * trailing {@code .*} or {@code .<placeholder>} names everything under it. A name with no
     * segment ({@code stateful-route-core}, stateful-route's) is not a property.
     */
    private static final Pattern PROPERTY = Pattern
        .compile("(?<![\\w.])stateful-route((?:\\.[a-zA-Z0-9][a-zA-Z0-9-]*)*)(\\.\\*|\\.<)?");

    /** A row of a property table: {@code | `name` | default | description |}. */
    private static final Pattern PROPERTY_ROW = Pattern.compile("^\\| `(stateful-route\\.[^`]+)` \\| ([^|]*) \\|");

    /**
     * Not properties: the instance metadata keys the balancer gives each pod, which the gateway
     * reference names in the same form.
     */
    private static final Set<String> INSTANCE_METADATA_KEYS = Set.of(
            StatefulRouteServiceInstanceListSupplier.NAMESPACE_METADATA,
            StatefulRouteServiceInstanceListSupplier.POD_INDEX_METADATA,
            StatefulRouteServiceInstanceListSupplier.ROUTING_STATE_METADATA);

    @Test
    void everyRelativeLinkReachesAFileAndItsAnchorAHeading() {
        List<String> failures = new ArrayList<>();
        int links = 0;
        for (Path page : pages()) {
            Matcher link = LINK.matcher(INLINE_CODE.matcher(prose(read(page))).replaceAll("code"));
            while (link.find()) {
                String target = link.group(1);
                if (URI_SCHEME.matcher(target).find()) {
                    continue;
                }
                links++;
                int hash = target.indexOf('#');
                String path = (hash < 0) ? target : target.substring(0, hash);
                Path file = path.isEmpty() ? page
                        : page.getParent().resolve(URLDecoder.decode(path, StandardCharsets.UTF_8)).normalize();
                if (!file.startsWith(ROOT) || !Files.exists(file)) {
                    failures.add(where(page) + ": " + target + " reaches no file");
                }
                else if (hash >= 0 && !(file.toString().endsWith(".md")
                        && anchors(read(file)).contains(target.substring(hash + 1)))) {
                    failures.add(where(page) + ": " + target + " reaches no heading of " + where(file));
                }
            }
        }
        assertThat(failures).isEmpty();
        assertThat(links).as("relative links found").isGreaterThan(20);
    }

    @Test
    void everyPropertyNamedInTheDocsExists() {
        Map<String, JsonNode> properties = properties();
        List<String> failures = new ArrayList<>();
        for (Path page : pages()) {
            String text = read(page);
            Matcher named = PROPERTY.matcher(text);
            while (named.find()) {
                boolean everythingUnder = named.group(2) != null;
                if (named.group(1).isEmpty() && !everythingUnder) {
                    continue;
                }
                String name = "stateful-route" + named.group(1);
                if (!exists(name, everythingUnder, properties)) {
                    failures.add(where(page) + ": " + named.group());
                }
            }
            for (String name : yamlProperties(text)) {
                if (!exists(name, false, properties)) {
                    failures.add(where(page) + ", YAML: " + name);
                }
            }
        }
        assertThat(failures).as("named in the docs, unknown to the configuration metadata").isEmpty();
    }

    @Test
    void configurationListsEveryPropertyWithItsDefault() {
        Map<String, String> documented = new HashMap<>();
        for (String line : read(CONFIGURATION).lines().toList()) {
            Matcher row = PROPERTY_ROW.matcher(line);
            if (row.find()) {
                documented.put(row.group(1).replaceFirst("\\.\\*$", ""), row.group(2).trim());
            }
        }
        List<String> failures = new ArrayList<>();
        properties().forEach((name, property) -> {
            String shown = documented.get(name);
            JsonNode value = property.get("defaultValue");
            if (shown == null) {
                failures.add(name + " is not in a table of docs/configuration.md");
            }
            else if (value != null && !shown.equals("`" + (value.isString() ? value.asString() : value.toString()) + "`")) {
                failures.add(name + ": default " + shown + " documented, " + value + " in the metadata");
            }
        });
        assertThat(failures).isEmpty();
    }

    /** The slugs GitHub gives headings, which the link check relies on. */
    @Test
    void anchorsAreGitHubs() {
        String page = """
                # Quick start
                ## The `statefulroute` actuator endpoint
                ```yaml
                # gateway application.yml
                ```
                ## Security: ACL and TLS
                ## Stateless services keep Spring Cloud's balancer
                ### Tested ###
                ### Tested
                """;
        assertThat(anchors(page)).containsExactly("quick-start", "the-statefulroute-actuator-endpoint",
                "security-acl-and-tls", "stateless-services-keep-spring-clouds-balancer", "tested", "tested-1");
    }

    /**
     * Whether the docs may name it: a property; a key of a map property; with
     * {@code everythingUnder}, a map property or a prefix of properties; or an instance
     * metadata key.
     */
    private static boolean exists(String name, boolean everythingUnder, Map<String, JsonNode> properties) {
        if (everythingUnder) {
            return (properties.containsKey(name) && isMap(properties.get(name)))
                    || properties.keySet().stream().anyMatch((property) -> property.startsWith(name + "."));
        }
        return properties.containsKey(name) || INSTANCE_METADATA_KEYS.contains(name)
                || properties.entrySet().stream()
                    .anyMatch((property) -> isMap(property.getValue()) && name.startsWith(property.getKey() + "."));
    }

    private static boolean isMap(JsonNode property) {
        return property.path("type").asString("").startsWith("java.util.Map");
    }

    /**
     * Every {@code stateful-route.*} property of the configuration metadata on the classpath, by
     * name; at least two files must declare some (the starter's and this module's), so that a
     * classpath missing one cannot pass the checks on half of them.
     */
    private static Map<String, JsonNode> properties() {
        Map<String, JsonNode> properties = new TreeMap<>();
        int sources = 0;
        JsonMapper json = JsonMapper.builder().build();
        try {
            for (URL metadata : Collections.list(DocumentationTest.class.getClassLoader()
                .getResources("META-INF/spring-configuration-metadata.json"))) {
                int before = properties.size();
                try (InputStream in = metadata.openStream()) {
                    for (JsonNode property : json.readTree(in).path("properties")) {
                        String name = property.get("name").asString();
                        if (name.startsWith("stateful-route.")) {
                            properties.put(name, property);
                        }
                    }
                }
                if (properties.size() > before) {
                    sources++;
                }
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        assertThat(sources).as("configuration metadata files declaring stateful-route.* properties").isEqualTo(2);
        return properties;
    }

    /** The {@code stateful-route.*} keys set by the YAML code blocks of a page, flattened. */
    private static List<String> yamlProperties(String markdown) {
        List<String> names = new ArrayList<>();
        StringBuilder block = null;
        for (String line : markdown.lines().toList()) {
            if (block == null && line.matches("```ya?ml\\s*")) {
                block = new StringBuilder();
            }
            else if (block != null && line.startsWith("```")) {
                for (Object document : new Yaml().loadAll(block.toString())) {
                    flatten("", document, names);
                }
                block = null;
            }
            else if (block != null) {
                block.append(line).append('\n');
            }
        }
        return names.stream().filter((name) -> name.startsWith("stateful-route.")).toList();
    }

    private static void flatten(String prefix, Object value, List<String> names) {
        if (value instanceof Map<?, ?> map) {
            map.forEach((key, child) -> flatten(prefix.isEmpty() ? String.valueOf(key) : prefix + "." + key, child, names));
        }
        else if (!prefix.isEmpty()) {
            names.add(prefix);
        }
    }

    /** The anchors of a page's headings, as GitHub makes them: the second of a kind gets -1. */
    private static List<String> anchors(String markdown) {
        List<String> anchors = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : prose(markdown).lines().toList()) {
            Matcher heading = HEADING.matcher(line);
            if (heading.matches()) {
                String slug = heading.group(1).toLowerCase(Locale.ROOT)
                    .replaceAll("[^\\p{L}\\p{N}\\p{M} _-]", "")
                    .replace(' ', '-');
                int count = seen.merge(slug, 1, Integer::sum);
                anchors.add((count == 1) ? slug : slug + "-" + (count - 1));
            }
        }
        return anchors;
    }

    /** The page without its fenced code blocks, whose lines are neither links nor headings. */
    private static String prose(String markdown) {
        StringBuilder prose = new StringBuilder();
        boolean inCode = false;
        for (String line : markdown.lines().toList()) {
            if (line.startsWith("```")) {
                inCode = !inCode;
            }
            else if (!inCode) {
                prose.append(line).append('\n');
            }
        }
        return prose.toString();
    }

    /** README.md and every Markdown page under docs/. */
    private static List<Path> pages() {
        try (Stream<Path> docs = Files.walk(ROOT.resolve("docs"))) {
            List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md")));
            docs.filter((file) -> file.toString().endsWith(".md")).sorted().forEach(pages::add);
            return pages;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static String where(Path file) {
        return ROOT.relativize(file).toString();
    }

    /** The first directory above this module's with README.md and docs/: the tests run in the module. */
    private static Path repositoryRoot() {
        Path start = Path.of("").toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("README.md")) && Files.isDirectory(dir.resolve("docs"))) {
                return dir;
            }
        }
        throw new IllegalStateException("No README.md with docs/ beside it in " + start + " or above");
    }

}
