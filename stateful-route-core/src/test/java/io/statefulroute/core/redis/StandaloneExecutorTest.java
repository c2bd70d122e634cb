package io.statefulroute.core.redis;

import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisServers;

/** The executor contract on the newest Redis available (a redis-server on the PATH, 7.x here). */
class StandaloneExecutorTest extends StatefulExecutorContract {

    @Override
    TestRedis startRedis() {
        return TestRedis.on(RedisServers.shared());
    }
}
