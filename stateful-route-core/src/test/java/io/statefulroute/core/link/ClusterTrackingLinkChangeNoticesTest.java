package io.statefulroute.core.link;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.statefulroute.core.TestRedis;
import io.statefulroute.testsupport.RedisCluster;
import io.statefulroute.testsupport.RedisServer;
import io.statefulroute.testsupport.RedisServers;

/** Client tracking on Redis Cluster: each node tracks the keys of its slots and invalidates them itself. */
class ClusterTrackingLinkChangeNoticesTest extends TrackingLinkChangeNoticesTest {

    private RedisCluster cluster;

    private final List<RedisClient> adminClients = new ArrayList<>();

    @Override
    TestRedis startRedis() {
        this.cluster = RedisServers.cluster().start();
        return TestRedis.on(this.cluster).owning(this.cluster);
    }

    @Override
    List<RedisCommands<String, String>> masters() {
        List<RedisCommands<String, String>> masters = new ArrayList<>();
        for (RedisServer master : this.cluster.masters()) {
            RedisClient client = RedisClient.create(RedisURI.create(master.host(), master.port()));
            this.adminClients.add(client);
            masters.add(client.connect(StringCodec.UTF8).sync());
        }
        return masters;
    }

    @Override
    @AfterAll
    void disconnect() {
        this.adminClients.forEach(RedisClient::shutdown);
        super.disconnect();
    }
}
