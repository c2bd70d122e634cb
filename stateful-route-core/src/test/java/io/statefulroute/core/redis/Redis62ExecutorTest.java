package io.statefulroute.core.redis;

import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/** The executor contract on Redis 6.2, the oldest server supported (the embedded-redis binary). */
class Redis62ExecutorTest extends StatefulExecutorContract {

    @Override
    TestRedis startRedis() {
        RedisServer server = RedisServers.standalone().embeddedOnly().start();
        assertThat(server.version()).startsWith("6.2");
        return TestRedis.on(server).owning(server);
    }
}
