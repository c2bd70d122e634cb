package io.statefulroute.cloud.autoconfigure;

import io.statefulroute.autoconfigure.StatefulRouteAutoConfiguration;
import io.statefulroute.autoconfigure.StatefulRouteProperties;
import io.statefulroute.cloud.loadbalancer.PrincipalUidResolvers;
import io.statefulroute.cloud.loadbalancer.RequestUidResolvers;
import io.statefulroute.cloud.loadbalancer.UidResolver;
import io.statefulroute.cloud.web.RoutingProblemWebExceptionHandler;
import io.statefulroute.cloud.websocket.FollowedSessions;
import io.statefulroute.cloud.websocket.LinkFollowingWebSocketServicePostProcessor;
import io.statefulroute.core.link.StatefulRouteForClientDriver;
import io.statefulroute.core.redis.StatefulExecutor;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cloud.loadbalancer.annotation.LoadBalancerClients;
import org.springframework.cloud.loadbalancer.config.LoadBalancerAutoConfiguration;
import org.springframework.cloud.loadbalancer.core.ReactorServiceInstanceLoadBalancer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ResourceLoader;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.util.ClassUtils;
import org.springframework.web.server.WebExceptionHandler;

/**
 * Spring Cloud LoadBalancer on stateful-route: every load-balanced call (a Spring Cloud
 * Gateway {@code lb://} or {@code lb:ws://} route, a {@code @LoadBalanced} {@code WebClient}
 * or {@code RestClient}) to a stateful service goes to the pod linked to the request's user;
 * a call to any other service keeps Spring Cloud LoadBalancer's own round robin. A service is
 * stateful while pods of it heartbeat in the namespace, or when it is listed in
 * {@code stateful-route.loadbalancer.services}. Each service's LoadBalancer context gets a
 * balancer that decides which, per request, unless the application configures a balancer of
 * its own there. On when Spring Cloud LoadBalancer is on the class path and the starter made
 * a client driver; {@code stateful-route.loadbalancer.enabled=false} switches it off. In a
 * Spring Cloud Gateway, a WebSocket session proxied to a user's pod is closed when the user's
 * link moves away from that pod ({@link FollowedSessions}).
 */
@AutoConfiguration(after = StatefulRouteAutoConfiguration.class, before = LoadBalancerAutoConfiguration.class)
@ConditionalOnClass(ReactorServiceInstanceLoadBalancer.class)
@ConditionalOnBean(StatefulRouteForClientDriver.class)
@ConditionalOnProperty(prefix = "stateful-route.loadbalancer", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(StatefulRouteLoadBalancerProperties.class)
@LoadBalancerClients(defaultConfiguration = StatefulRouteLoadBalancerClientConfiguration.class)
public final class StatefulRouteLoadBalancerAutoConfiguration {

    private static final String SECURITY_CONTEXT = "org.springframework.security.core.context.ReactiveSecurityContextHolder";

    private static final String JWT = "org.springframework.security.oauth2.jwt.Jwt";

    @Bean
    @ConditionalOnMissingBean
    UidResolver statefulRouteUidResolver(StatefulRouteLoadBalancerProperties properties, ResourceLoader resources) {
        StatefulRouteLoadBalancerProperties.Uid uid = properties.getUid();
        ClassLoader classLoader = resources.getClassLoader();
        return switch (uid.getSource()) {
            case HEADER -> RequestUidResolvers.header(uid.getHeader());
            case COOKIE -> RequestUidResolvers.cookie(uid.getCookie());
            case QUERY_PARAMETER -> RequestUidResolvers.queryParameter(uid.getQueryParameter());
            case PATH_SEGMENT -> RequestUidResolvers.pathSegment(uid.getPathSegment());
            case PRINCIPAL -> {
                requireClass(classLoader, SECURITY_CONTEXT, "principal", "spring-security-core");
                yield PrincipalUidResolvers.principalName();
            }
            case JWT_CLAIM -> {
                requireClass(classLoader, SECURITY_CONTEXT, "jwt-claim", "spring-security-core");
                requireClass(classLoader, JWT, "jwt-claim", "spring-security-oauth2-jose");
                yield PrincipalUidResolvers.jwtClaim(uid.getClaim());
            }
        };
    }

    private static void requireClass(ClassLoader classLoader, String className, String source, String artifact) {
        if (!ClassUtils.isPresent(className, classLoader)) {
            throw new IllegalStateException("stateful-route.loadbalancer.uid.source=" + source + " needs " + artifact
                    + " on the class path (Spring Security)");
        }
    }

    /**
     * A Spring Cloud Gateway closes a proxied WebSocket session when its user's link moves away
     * from its pod, or its pod dies or shuts down.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
    @ConditionalOnClass(name = "org.springframework.cloud.gateway.filter.WebsocketRoutingFilter")
    @ConditionalOnProperty(prefix = "stateful-route.loadbalancer.websocket", name = "follow-links",
            matchIfMissing = true)
    static class WebSocketConfiguration {

        @Bean
        @ConditionalOnMissingBean
        FollowedSessions statefulRouteFollowedSessions(StatefulRouteForClientDriver client,
                StatefulExecutor executor, StatefulRouteLoadBalancerProperties properties,
                ObjectProvider<StatefulRouteProperties> routeProperties) {
            // a failed subscription is tried again as often as the pod states are re-read
            return new FollowedSessions(client, executor, properties.getWebsocket().getCloseCode(),
                    routeProperties.getIfAvailable(StatefulRouteProperties::new).getState().getRefreshPeriod());
        }

        @Bean
        static LinkFollowingWebSocketServicePostProcessor statefulRouteWebSocketServicePostProcessor(
                ObjectProvider<FollowedSessions> sessions) {
            return new LinkFollowingWebSocketServicePostProcessor(sessions);
        }

    }

    /**
     * A reactive web application (a gateway) answers routing failures with problem details.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
    @ConditionalOnClass(WebExceptionHandler.class)
    static class ReactiveWebConfiguration {

        @Bean
        @ConditionalOnMissingBean
        RoutingProblemWebExceptionHandler statefulRouteProblemHandler(ServerCodecConfigurer codecs,
                StatefulRouteLoadBalancerProperties properties) {
            return new RoutingProblemWebExceptionHandler(codecs, properties.getRetryAfter());
        }

    }

}
