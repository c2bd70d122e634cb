package io.statefulroute.core.redis;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.lettuce.core.cluster.SlotHash;
import io.statefulroute.core.InvalidRouteArgumentException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RouteKeysTest {

    private final RouteKeys keys = new RouteKeys("sr");

    @Test
    void plainIdsStayReadable() {
        assertThat(this.keys.link("prod", "user-42", "chat")).isEqualTo("sr:{u:prod:user-42}:link:chat");
        assertThat(this.keys.services("prod")).isEqualTo("sr:{n:prod}:services");
        assertThat(this.keys.pods("prod", "chat")).isEqualTo("sr:{s:prod:chat}:pods");
        assertThat(this.keys.workload("prod", "chat")).isEqualTo("sr:{s:prod:chat}:work");
    }

    @Test
    void specialCharactersAreEncodedSoTheHashTagStaysIntact() {
        String key = this.keys.link("a}b", "{x:y}", "c:}");
        assertThat(key).isEqualTo("sr:{u:a%7Db:%7Bx%3Ay%7D}:link:c%3A%7D");
        assertThat(this.keys.parseLink(key)).containsExactly("a}b", "{x:y}", "c:}");
        assertThat(RouteKeys.encode("é😀%")).isEqualTo("%C3%A9%F0%9F%98%80%25");
    }

    @Test
    void linksOfOneUserShareOneSlot() {
        assertThat(SlotHash.getSlot(this.keys.link("n{s", "u}1", "chat")))
            .isEqualTo(SlotHash.getSlot(this.keys.link("n{s", "u}1", "game")));
    }

    @Test
    void keysThatAreNoLinksAreNotParsedAsLinks() {
        assertThat(this.keys.parseLink("sr:{u:prod:alice}:links")).isNull();
        assertThat(this.keys.parseLink("other:{u:prod:alice}:link:chat")).isNull();
        assertThat(this.keys.parseLink("sr:{u:prod}:link:chat")).isNull();
        assertThat(this.keys.parseLink("sr:{u:prod:alice}:link:")).isNull();
        assertThat(this.keys.parseLink("sr:{u:prod:al ice}:link:chat")).isNull();
    }

    @Test
    void keysOfOneServiceShareOneSlot() {
        assertThat(SlotHash.getSlot(this.keys.pods("n{s", "c}h")))
            .isEqualTo(SlotHash.getSlot(this.keys.workload("n{s", "c}h")));
    }

    /** Seeded random ids over an alphabet rich in separators; prints the seed on failure. */
    @Test
    void distinctIdsNeverShareAKey() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String alphabet = "ab:{}%|. -_é😀";
        Map<String, String> seen = new HashMap<>();
        for (int i = 0; i < 50_000; i++) {
            String namespace = randomId(random, alphabet);
            String uid = randomId(random, alphabet);
            String service = randomId(random, alphabet);
            String id = namespace + "\u0000" + uid + "\u0000" + service;
            String key = this.keys.link(namespace, uid, service);
            assertThat(this.keys.parseLink(key)).as("seed %d: %s", seed, key).containsExactly(namespace, uid, service);
            String previous = seen.putIfAbsent(key, id);
            assertThat(previous == null || previous.equals(id)).as("seed %d: %s and %s share %s", seed, previous, id, key)
                .isTrue();
        }
    }

    private static String randomId(Random random, String alphabet) {
        int[] codePoints = alphabet.codePoints().toArray();
        StringBuilder id = new StringBuilder();
        int length = 1 + random.nextInt(4);
        for (int i = 0; i < length; i++) {
            id.appendCodePoint(codePoints[random.nextInt(codePoints.length)]);
        }
        return id.toString();
    }

    @Test
    void prefixWithBracesIsRejected() {
        assertThatThrownBy(() -> new RouteKeys("a{b}")).isInstanceOf(InvalidRouteArgumentException.class)
            .hasMessageContaining("keyPrefix");
        assertThatThrownBy(() -> new RouteKeys(" ")).isInstanceOf(InvalidRouteArgumentException.class);
    }
}
