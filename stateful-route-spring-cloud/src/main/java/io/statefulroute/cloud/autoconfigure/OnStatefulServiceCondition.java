package io.statefulroute.cloud.autoconfigure;

import java.util.Set;

import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.cloud.loadbalancer.support.LoadBalancerClientFactory;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * In a LoadBalancer child context: whether its service is one stateful-route routes
 * ({@code stateful-route.loadbalancer.services}, every service when empty).
 */
class OnStatefulServiceCondition extends SpringBootCondition {

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        String service = LoadBalancerClientFactory.getName(context.getEnvironment());
        Set<String> services = Binder.get(context.getEnvironment())
            .bind("stateful-route.loadbalancer.services", Bindable.setOf(String.class))
            .orElse(Set.of());
        return (services.isEmpty() || services.contains(service))
                ? ConditionOutcome.match("service '" + service + "' is routed by stateful-route")
                : ConditionOutcome.noMatch("service '" + service + "' is not in stateful-route.loadbalancer.services");
    }

}
