package io.statefulroute.benchmarks;

import java.util.concurrent.Semaphore;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;

/**
 * Sends a number of new users to a Redis server, 50 in flight on one connection, as one of:
 * {@code raw} (the raw minimal script, {@link NewUserBenchmark#MINIMAL_LINK_IF_ABSENT}),
 * {@code channel} (the core's {@code link_if_absent}, untracked, as with notices on the channel)
 * or {@code tracking} (the same script on a connection with {@code CLIENT TRACKING on NOLOOP},
 * as the core's link connection with notices by tracking). {@code redis-work.sh} runs it against
 * a {@code redis-server} under callgrind, whose instruction count does not depend on what else
 * the machine is doing: Redis' own work per new user, without the noise of a shared machine.
 *
 * <pre>java -cp benchmarks.jar io.statefulroute.benchmarks.NewUserRedisWork host port users raw|channel|tracking</pre>
 */
public final class NewUserRedisWork {

    private static final int IN_FLIGHT = 50;

    private NewUserRedisWork() {
    }

    public static void main(String[] args) throws InterruptedException {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int users = Integer.parseInt(args[2]);
        String variant = args[3];
        RedisClient client = RedisClient.create(RedisURI.create(host, port));
        try (StatefulRedisConnection<String, String> connection = client.connect(StringCodec.UTF8)) {
            boolean raw = variant.equals("raw");
            boolean tracking = variant.equals("tracking");
            if (!raw && !tracking && !variant.equals("channel")) {
                throw new IllegalArgumentException("raw, channel or tracking, not " + variant);
            }
            if (tracking) {
                connection.sync().clientTracking(TrackingArgs.Builder.enabled().noloop());
            }
            String sha = connection.sync().scriptLoad(raw ? NewUserBenchmark.MINIMAL_LINK_IF_ABSENT
                    : RouteFixture.coreScript("link_if_absent"));
            RedisAsyncCommands<String, String> commands = connection.async();
            Semaphore window = new Semaphore(IN_FLIGHT);
            for (int i = 0; i < users; i++) {
                window.acquire();
                String uid = variant + "-" + i;
                var reply = raw
                        ? commands.evalsha(sha, ScriptOutputType.VALUE, new String[] { "min:" + uid }, "1", "300")
                        : commands.evalsha(sha, ScriptOutputType.MULTI, new String[] { RouteFixture.linkKey(uid, "chat") },
                                "1", "300000");
                reply.whenComplete((value, failure) -> {
                    if (failure != null) {
                        System.err.println("new user failed: " + failure);
                    }
                    window.release();
                });
            }
            window.acquire(IN_FLIGHT);
        }
        finally {
            client.shutdown();
        }
    }
}
