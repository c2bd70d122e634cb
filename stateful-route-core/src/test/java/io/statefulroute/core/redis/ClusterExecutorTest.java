package io.statefulroute.core.redis;

import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServers;

/**
 * The executor contract on a 3-master Redis Cluster: any script whose keys spanned two hash
 * slots would fail here with CROSSSLOT.
 */
class ClusterExecutorTest extends StatefulExecutorContract {

    @Override
    TestRedis startRedis() {
        RedisCluster cluster = RedisServers.cluster().start();
        return TestRedis.on(cluster).owning(cluster);
    }
}
