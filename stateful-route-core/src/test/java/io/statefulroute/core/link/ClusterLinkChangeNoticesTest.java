package io.statefulroute.core.link;

import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServers;

/** Notices published by a script on one master reach subscribers connected to another node. */
class ClusterLinkChangeNoticesTest extends LinkChangeNoticesContract {

    @Override
    TestRedis startRedis() {
        RedisCluster cluster = RedisServers.cluster().start();
        return TestRedis.on(cluster).owning(cluster);
    }
}
