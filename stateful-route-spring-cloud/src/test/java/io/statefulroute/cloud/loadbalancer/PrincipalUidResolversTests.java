package io.statefulroute.cloud.loadbalancer;

import java.util.List;

import org.junit.jupiter.api.Test;

import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.context.ReactiveSecurityContextHolder;
import org.springframework.security.core.context.SecurityContextImpl;

import reactor.core.publisher.Mono;

import static org.assertj.core.api.Assertions.assertThat;

class PrincipalUidResolversTests {

    @Test
    void theAuthenticatedUsersNameIsTheUid() {
        Mono<String> uid = PrincipalUidResolvers.principalName()
            .resolve(null)
            .contextWrite(ReactiveSecurityContextHolder.withAuthentication(
                    UsernamePasswordAuthenticationToken.authenticated("alice", null, List.of())));
        assertThat(uid.blockOptional()).hasValue("alice");
    }

    /** A security context without an authentication (an anonymous request) gives no uid, not an error. */
    @Test
    void aContextWithoutAuthenticationGivesNoUid() {
        Mono<String> uid = PrincipalUidResolvers.principalName()
            .resolve(null)
            .contextWrite(ReactiveSecurityContextHolder.withSecurityContext(Mono.just(new SecurityContextImpl())));
        assertThat(uid.blockOptional()).isEmpty();
    }
}
