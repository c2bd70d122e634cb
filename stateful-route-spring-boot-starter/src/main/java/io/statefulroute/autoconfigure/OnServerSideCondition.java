package io.statefulroute.autoconfigure;

import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.util.StringUtils;

/**
 * Matches when this application is a pod of a stateful service:
 * {@code stateful-route.server.enabled} if set, else whether
 * {@code stateful-route.server.service} is set.
 */
class OnServerSideCondition extends SpringBootCondition {

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Environment environment = context.getEnvironment();
        Boolean enabled = environment.getProperty("stateful-route.server.enabled", Boolean.class);
        if (enabled != null) {
            return new ConditionOutcome(enabled, "stateful-route.server.enabled is " + enabled);
        }
        String service = environment.getProperty("stateful-route.server.service");
        return StringUtils.hasText(service) ? ConditionOutcome.match("stateful-route.server.service is set")
                : ConditionOutcome.noMatch("stateful-route.server.service is not set");
    }

}
