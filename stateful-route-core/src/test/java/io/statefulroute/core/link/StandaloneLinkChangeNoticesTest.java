package io.statefulroute.core.link;

import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisServers;

class StandaloneLinkChangeNoticesTest extends LinkChangeNoticesContract {

    @Override
    TestRedis startRedis() {
        return TestRedis.on(RedisServers.shared());
    }
}
