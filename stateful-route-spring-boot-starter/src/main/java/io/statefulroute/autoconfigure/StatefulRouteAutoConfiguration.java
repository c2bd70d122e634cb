package io.statefulroute.autoconfigure;

import java.time.Duration;
import java.util.List;

import io.statefulroute.core.PodIdentity;
import io.statefulroute.core.balance.PodSelector;
import io.statefulroute.core.balance.RouteInfoDriver;
import io.statefulroute.core.balance.ZonePreference;
import io.statefulroute.core.link.ClientOptions;
import io.statefulroute.core.link.RouteListener;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.rebalance.MoveConsent;
import io.statefulroute.core.rebalance.RebalanceOptions;
import io.statefulroute.core.rebalance.Rebalancer;
import io.statefulroute.core.redis.RedisCallListener;
import io.statefulroute.core.redis.RedisStatefulExecutor;
import io.statefulroute.core.redis.SpringDataRedisConnections;
import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.server.OwnershipListener;
import io.statefulroute.core.server.ServerOptions;
import io.statefulroute.core.server.StatefulRouteForServerDriver;
import io.statefulroute.core.server.WaitingTasksSource;
import io.statefulroute.core.state.PodCapacity;
import io.statefulroute.core.state.PodStateListener;
import io.statefulroute.core.state.ServiceStateCache;
import io.statefulroute.core.state.WarmUp;
import io.statefulroute.event.OwnershipEventPublisher;
import io.statefulroute.event.PodStateEventPublisher;
import io.statefulroute.lifecycle.ReadinessDrainListener;
import io.statefulroute.lifecycle.RebalancerLifecycle;
import io.statefulroute.lifecycle.StateRefreshListener;
import io.statefulroute.lifecycle.StatefulRouteLifecycle;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.web.server.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Auto-configuration of stateful-route on the application's own Spring Data Redis
 * connection factory (so every {@code spring.data.redis.*} setting applies: standalone,
 * Sentinel, Cluster, SSL, ACL); it never defines a connection factory of its own.
 *
 * <p>The client side ({@link StatefulRouteForClientDriver} and what it needs) is on
 * whenever there is a {@link RedisConnectionFactory} or a {@link StatefulExecutor} bean. The
 * server side ({@link StatefulRouteForServerDriver}, heartbeat, drain) is on when this
 * application is a pod of a stateful service ({@code stateful-route.server.service} set, or
 * {@code stateful-route.server.enabled=true}); there a {@link Rebalancer} evens out the pods'
 * users with the consent of the application's {@link MoveConsent} bean, unless
 * {@code stateful-route.server.rebalance.enabled=false}. Every bean backs off when the
 * application defines its own of the same type.
 *
 * <p>{@link RedisCallListener}, {@link RouteListener} and {@link StateRefreshListener} beans
 * (metrics, tracing, or the application's own) are handed to the executor, the client driver
 * and the lifecycle, in order.
 */
@AutoConfiguration(after = DataRedisAutoConfiguration.class)
@ConditionalOnClass({ StatefulExecutor.class, LettuceConnectionFactory.class })
@Conditional(StatefulRouteAutoConfiguration.OnRedisCondition.class)
@EnableConfigurationProperties(StatefulRouteProperties.class)
public final class StatefulRouteAutoConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(StatefulExecutor.class)
    @ConditionalOnBean(RedisConnectionFactory.class)
    RedisStatefulExecutor statefulRouteExecutor(RedisConnectionFactory connectionFactory,
            StatefulRouteProperties properties, ObjectProvider<RedisCallListener> callListeners) {
        if (!(connectionFactory instanceof LettuceConnectionFactory lettuce)) {
            throw new IllegalStateException("stateful-route runs on Lettuce, but the application's "
                    + "RedisConnectionFactory is a " + connectionFactory.getClass().getName()
                    + ". Use Lettuce (Spring Boot's default Redis client) or define a StatefulExecutor bean");
        }
        RedisStatefulExecutor.Builder builder = RedisStatefulExecutor.builder();
        // a tracking connection nobody follows would only fill Redis' tracking table
        StatefulRouteProperties.Link.NoticeDelivery notices = properties.getLink().isFollowChanges()
                ? properties.getLink().getNotices() : StatefulRouteProperties.Link.NoticeDelivery.CHANNEL;
        if (notices == StatefulRouteProperties.Link.NoticeDelivery.AUTO) {
            builder.trackingWhereSupported(() -> SpringDataRedisConnections.open(lettuce));
        }
        else if (notices == StatefulRouteProperties.Link.NoticeDelivery.TRACKING) {
            builder.trackingConnection(() -> SpringDataRedisConnections.open(lettuce));
        }
        if (properties.getLink().getReplicaAcks() > 0) {
            builder.replicaAcks(properties.getLink().getReplicaAcks(), properties.getLink().getReplicaAckTimeout(),
                    () -> SpringDataRedisConnections.open(lettuce));
        }
        // Closed when the context is destroyed, after every lifecycle (and so the drain) has stopped.
        return builder
            .publishChanges(properties.getLink().isPublishChanges())
            .connector(() -> SpringDataRedisConnections.open(lettuce))
            .pubSubConnections(() -> SpringDataRedisConnections.openPubSub(lettuce))
            .primarySwitches((onSwitch) -> SpringDataRedisConnections.followPrimarySwitches(lettuce, onSwitch))
            .keyPrefix(properties.getKeyPrefix())
            .commandTimeout(properties.getCommandTimeout())
            .podStateRetention(properties.getState().getRetention())
            .callListener(CompositeRedisCallListener.of(callListeners.orderedStream().toList()))
            .build();
    }

    @Bean
    @ConditionalOnMissingBean
    ServiceStateCache statefulRouteStateCache(StatefulExecutor executor, StatefulRouteProperties properties,
            ObjectProvider<PodStateListener> listeners) {
        StatefulRouteProperties.State settings = properties.getState();
        ServiceStateCache states = new ServiceStateCache(executor, settings.getPodExpiry(), settings.getRelinkGrace(),
                settings.getMaxServices(), settings.getRefreshPeriod());
        if (settings.getLoadChangeThreshold() != null) {
            states.setLoadChangeThreshold(settings.getLoadChangeThreshold());
        }
        settings.getServices().forEach((service) -> states.keepInView(properties.getNamespace(), service));
        listeners.orderedStream().forEach(states::addListener);
        return states;
    }

    @Bean
    @ConditionalOnMissingBean
    PodStateEventPublisher statefulRoutePodStateEventPublisher(ApplicationEventPublisher publisher) {
        return new PodStateEventPublisher(publisher);
    }

    @Bean
    @ConditionalOnMissingBean
    PodSelector statefulRoutePodSelector(StatefulRouteProperties properties) {
        return properties.getSelectionStrategy().newSelector();
    }

    @Bean
    @ConditionalOnMissingBean
    RouteInfoDriver statefulRouteInfoDriver(ServiceStateCache states, PodSelector selector,
            StatefulRouteProperties properties, Environment environment) {
        String zone = ApplicationZone.resolve(properties, environment);
        StatefulRouteProperties.ZonePreference preference = properties.getZonePreference();
        return new RouteInfoDriver(states, selector, (zone == null || !preference.isEnabled()) ? ZonePreference.NONE
                : new ZonePreference(zone, (preference.getLoadThreshold() != null) ? preference.getLoadThreshold()
                        : Double.POSITIVE_INFINITY));
    }

    @Bean
    @ConditionalOnMissingBean
    StatefulRouteForClientDriver statefulRouteClientDriver(StatefulExecutor executor, RouteInfoDriver routeInfo,
            StatefulRouteProperties properties, ObjectProvider<RouteListener> routeListeners) {
        StatefulRouteProperties.Cache cache = properties.getCache();
        Duration fallbackTtl = (cache.getFallbackTtl().compareTo(cache.getTtl()) < 0) ? cache.getFallbackTtl()
                : cache.getTtl();
        ClientOptions options = new ClientOptions(properties.getNamespace(), properties.getLink().getTemporaryTtl(),
                cache.getTtl(), cache.getMaximumSize(), fallbackTtl, cache.getExpiry());
        return new StatefulRouteForClientDriver(executor, routeInfo, options,
                CompositeRouteListener.of(routeListeners.orderedStream().toList()));
    }

    @Bean
    @ConditionalOnMissingBean
    StatefulRouteLifecycle statefulRouteLifecycle(ServiceStateCache states,
            ObjectProvider<StatefulRouteForClientDriver> client, ObjectProvider<StatefulRouteForServerDriver> server,
            StatefulRouteProperties properties, ObjectProvider<StateRefreshListener> refreshListeners) {
        StatefulRouteProperties.Server settings = properties.getServer();
        List<StateRefreshListener> listeners = refreshListeners.orderedStream().toList();
        // The driver's own stop ends within drain + two command timeouts + the lease margin (writes sent before
        // the end settle, then SHUTDOWN is published); the third timeout is slack for a slow event loop.
        Duration stopTimeout = settings.getDrainPeriod().plus(properties.getCommandTimeout().multipliedBy(3))
            .plus(settings.leaseMarginOr(properties.getState().getPodExpiry()));
        return new StatefulRouteLifecycle(states, client.getIfUnique(), server.getIfUnique(),
                new StatefulRouteLifecycle.Settings(properties.getState().getRefreshPeriod(),
                        settings.getHeartbeatPeriod(), stopTimeout, properties.getScheduling().isEnabled(),
                        properties.getLink().isFollowChanges()),
                (nanos, error) -> listeners.forEach((listener) -> listener.refreshed(nanos, error)));
    }

    /**
     * The server side: this application is a pod of a stateful service.
     */
    @Configuration(proxyBeanMethods = false)
    @Conditional(OnServerSideCondition.class)
    static class ServerConfiguration {

        @Bean
        @ConditionalOnMissingBean
        StatefulRouteForServerDriver statefulRouteServerDriver(StatefulExecutor executor,
                StatefulRouteProperties properties, Environment environment,
                ObjectProvider<WaitingTasksSource> waitingTasks, ObjectProvider<OwnershipListener> ownershipListeners) {
            StatefulRouteProperties.Server settings = properties.getServer();
            int podIndex = StatefulSetPodIndex.resolve(settings.getPodIndex(), environment);
            PodIdentity identity = new PodIdentity(properties.getNamespace(), settings.getService(), podIndex);
            StatefulRouteForServerDriver server = new StatefulRouteForServerDriver(executor,
                    new ServerOptions(identity, settings.getCpuFactor(), settings.getDrainPeriod())
                        .withLease(properties.getState().getPodExpiry(),
                                settings.leaseMarginOr(properties.getState().getPodExpiry()),
                                properties.getState().getRelinkGrace())
                        .withCapacity(capacity(settings.getCapacity()))
                        .withWarmUp(warmUp(settings.getWarmUp())),
                    waitingTasks.getIfAvailable(() -> () -> 0));
            // a configured port needs no web server; otherwise the web server's port is set once it listens
            server.setAdvertisedAddress(AdvertisedPodAddress.resolve(settings.getAdvertisedAddress(),
                    ApplicationZone.resolve(properties, environment), environment, null));
            ownershipListeners.orderedStream().forEach(server::addOwnershipListener);
            return server;
        }

        private static PodCapacity capacity(StatefulRouteProperties.Capacity capacity) {
            return new PodCapacity((capacity.getUsers() != null) ? capacity.getUsers() : Integer.MAX_VALUE,
                    (capacity.getLoad() != null) ? capacity.getLoad() : Double.POSITIVE_INFINITY);
        }

        private static WarmUp warmUp(StatefulRouteProperties.WarmUp warmUp) {
            return warmUp.getDuration().isZero() ? WarmUp.NONE
                    : new WarmUp(warmUp.getDuration(), warmUp.getAggression(), warmUp.getMinimumWeight());
        }

        /**
         * Rebalancing of this pod's users; without a {@link MoveConsent} bean its rounds only
         * propose moves.
         */
        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnBooleanProperty(name = "stateful-route.server.rebalance.enabled", matchIfMissing = true)
        Rebalancer statefulRouteRebalancer(StatefulRouteForServerDriver server, ServiceStateCache states,
                StatefulRouteProperties properties, ObjectProvider<MoveConsent> consent) {
            StatefulRouteProperties.Rebalance settings = properties.getServer().getRebalance();
            RebalanceOptions options = new RebalanceOptions(settings.getInterval(), settings.getTolerance(),
                    settings.getMaxShare(), settings.getMaxMovesPerSecond());
            // two consents are an error, not a choice to make silently
            return new Rebalancer(server, states, options, consent.getIfAvailable(() -> MoveConsent.NONE));
        }

        /** Rounds run while the pod runs, whichever {@link Rebalancer} bean there is. */
        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnBean(Rebalancer.class)
        RebalancerLifecycle statefulRouteRebalancerLifecycle(Rebalancer rebalancer, StatefulRouteProperties properties) {
            return new RebalancerLifecycle(rebalancer, properties.getScheduling().isEnabled());
        }

        @Bean
        @ConditionalOnMissingBean
        OwnershipEventPublisher statefulRouteOwnershipEventPublisher(ApplicationEventPublisher publisher) {
            return new OwnershipEventPublisher(publisher);
        }

        @Bean
        @ConditionalOnMissingBean
        ReadinessDrainListener statefulRouteReadinessDrainListener(StatefulRouteForServerDriver server) {
            return new ReadinessDrainListener(server);
        }

        /**
         * A pod that is a web server advertises the port it listens on. The web server starts
         * in an earlier lifecycle phase than the heartbeat, so the first heartbeat carries it.
         */
        @Configuration(proxyBeanMethods = false)
        @ConditionalOnClass(WebServerInitializedEvent.class)
        static class WebServerAddressConfiguration {

            @Bean
            ApplicationListener<WebServerInitializedEvent> statefulRouteWebServerAddress(
                    ObjectProvider<StatefulRouteForServerDriver> server, StatefulRouteProperties properties,
                    Environment environment) {
                return (event) -> {
                    // a separate management server has a namespace; users reach the application's
                    if (event.getApplicationContext().getServerNamespace() == null) {
                        server.ifUnique((driver) -> driver.setAdvertisedAddress(AdvertisedPodAddress.resolve(
                                properties.getServer().getAdvertisedAddress(),
                                ApplicationZone.resolve(properties, environment), environment,
                                event.getWebServer().getPort())));
                    }
                };
            }

        }

    }

    /**
     * Redis is there: the application's connection factory, or its own executor.
     */
    static final class OnRedisCondition extends AnyNestedCondition {

        OnRedisCondition() {
            super(ConfigurationPhase.REGISTER_BEAN);
        }

        @ConditionalOnBean(RedisConnectionFactory.class)
        static final class ConnectionFactory {

        }

        @ConditionalOnBean(StatefulExecutor.class)
        static final class Executor {

        }

    }

}
