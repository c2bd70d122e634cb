package io.statefulroute.core.redis;

import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

import static org.assertj.core.api.Assertions.assertThat;

/** The executor contract on Redis 6.2, the oldest server supported (the embedded-redis binary). */
class Redis62ExecutorTest extends StatefulExecutorContract {

    private RedisServer server;

    @Override
    TestRedis startRedis() {
        this.server = RedisServers.standalone().embeddedOnly().start();
        assertThat(this.server.version()).startsWith("6.2");
        return TestRedis.on(this.server);
    }

    @Override
    void stopRedis() {
        this.server.close();
    }
}
