package io.statefulroute.core.link;

import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

/** Client tracking on the oldest supported server: Redis 6.2 tracks the keys a script declares. */
class Redis62TrackingLinkChangeNoticesTest extends TrackingLinkChangeNoticesTest {

    @Override
    TestRedis startRedis() {
        RedisServer server = RedisServers.standalone().embeddedOnly().start();
        return TestRedis.on(server).owning(server);
    }
}
