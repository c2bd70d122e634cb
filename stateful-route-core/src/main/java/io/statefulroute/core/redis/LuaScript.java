package io.statefulroute.core.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One atomic operation's Lua script, read from {@code lua/<name>.lua} with the shared
 * helpers of {@code lua/common.lua} in front, and its SHA-1 for {@code EVALSHA}.
 */
record LuaScript(String name, String source, String sha) {

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

    static LuaScript load(String name) {
        String source = read("common") + "\n" + read(name);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
            return new LuaScript(name, source, HexFormat.of().formatHex(digest));
        }
        catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-1 is required of every Java runtime", ex);
        }
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
