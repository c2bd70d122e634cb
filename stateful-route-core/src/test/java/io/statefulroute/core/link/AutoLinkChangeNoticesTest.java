package io.statefulroute.core.link;

import io.statefulroute.core.TestRedis;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.testsupport.RedisServers;

/**
 * The notices contract with gateways built as the starter builds them by default: tracking
 * where the server supports it (here it does), the channel otherwise.
 */
class AutoLinkChangeNoticesTest extends LinkChangeNoticesContract {

    @Override
    TestRedis startRedis() {
        return TestRedis.on(RedisServers.shared());
    }

    @Override
    StatefulExecutor gatewayExecutor() {
        return this.redis.trackingWhereSupportedExecutor(true);
    }

    @Override
    boolean everyGatewayHearsEveryChange() {
        return false;
    }
}
