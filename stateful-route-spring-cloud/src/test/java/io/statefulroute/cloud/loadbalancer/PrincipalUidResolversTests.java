package io.statefulroute.cloud.loadbalancer;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.authentication.TestingAuthenticationToken;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.authority.AuthorityUtils;
import org.springframework.security.core.context.ReactiveSecurityContextHolder;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.core.context.SecurityContextImpl;
import org.springframework.security.oauth2.jwt.Jwt;

import reactor.core.publisher.Mono;

import static org.assertj.core.api.Assertions.assertThat;

class PrincipalUidResolversTests {

    /** What Spring Security's anonymous filter puts in the context of a request without credentials. */
    private static final Authentication ANONYMOUS = new AnonymousAuthenticationToken("key", "anonymousUser",
            AuthorityUtils.createAuthorityList("ROLE_ANONYMOUS"));

    private static final Jwt JWT = Jwt.withTokenValue("token")
        .header("alg", "none")
        .subject("alice")
        .claim("player_id", 42)
        .issuedAt(Instant.now())
        .build();

    @AfterEach
    void clearThreadContext() {
        SecurityContextHolder.clearContext();
    }

    @Test
    void theAuthenticatedUsersNameIsTheUid() {
        assertThat(resolve(PrincipalUidResolvers.principalName(),
                UsernamePasswordAuthenticationToken.authenticated("alice", null, List.of()))).hasValue("alice");
    }

    /** A security context without an authentication (an anonymous request) gives no uid, not an error. */
    @Test
    void aContextWithoutAuthenticationGivesNoUid() {
        Mono<String> uid = PrincipalUidResolvers.principalName()
            .resolve(null)
            .contextWrite(ReactiveSecurityContextHolder.withSecurityContext(Mono.just(new SecurityContextImpl())));
        assertThat(uid.blockOptional()).isEmpty();
    }

    /**
     * An anonymous token is "authenticated" and named {@code anonymousUser}: taken as a uid,
     * every anonymous request would be one user pinned to one pod.
     */
    @Test
    void anAnonymousTokenGivesNoUid() {
        assertThat(ANONYMOUS.isAuthenticated()).isTrue();
        assertThat(resolve(PrincipalUidResolvers.principalName(), ANONYMOUS)).isEmpty();
        assertThat(resolve(PrincipalUidResolvers.jwtClaim("sub"), ANONYMOUS)).isEmpty();
    }

    @Test
    void anAuthenticationThatIsNotAuthenticatedGivesNoUid() {
        assertThat(resolve(PrincipalUidResolvers.principalName(),
                UsernamePasswordAuthenticationToken.unauthenticated("mallory", "guess"))).isEmpty();
        TestingAuthenticationToken withJwt = new TestingAuthenticationToken(JWT, null);
        withJwt.setAuthenticated(false);
        assertThat(resolve(PrincipalUidResolvers.jwtClaim("sub"), withJwt)).isEmpty();
    }

    /** A blocking caller (a {@code RestClient}) has the thread's context; an anonymous one there gives none either. */
    @Test
    void theThreadsContextAnswersWhenThereIsNoReactiveOne() {
        SecurityContextHolder.getContext().setAuthentication(
                UsernamePasswordAuthenticationToken.authenticated("bob", null, List.of()));
        assertThat(PrincipalUidResolvers.principalName().resolve(null).blockOptional()).hasValue("bob");

        SecurityContextHolder.getContext().setAuthentication(ANONYMOUS);
        assertThat(PrincipalUidResolvers.principalName().resolve(null).blockOptional()).isEmpty();
    }

    @Test
    void aClaimOfTheUsersJwtIsTheUid() {
        Authentication authentication = new TestingAuthenticationToken(JWT, null, "ROLE_USER");

        assertThat(resolve(PrincipalUidResolvers.jwtClaim("sub"), authentication)).hasValue("alice");
        // a claim that is not a string is given as its text
        assertThat(resolve(PrincipalUidResolvers.jwtClaim("player_id"), authentication)).hasValue("42");
    }

    @Test
    void aMissingClaimOrAPrincipalThatIsNoJwtGivesNoUid() {
        assertThat(resolve(PrincipalUidResolvers.jwtClaim("tenant"), new TestingAuthenticationToken(JWT, null, "ROLE_USER")))
            .isEmpty();
        assertThat(resolve(PrincipalUidResolvers.jwtClaim("sub"),
                UsernamePasswordAuthenticationToken.authenticated("alice", null, List.of()))).isEmpty();
    }

    private static Optional<String> resolve(UidResolver resolver, Authentication authentication) {
        return resolver.resolve(null)
            .contextWrite(ReactiveSecurityContextHolder.withAuthentication(authentication))
            .blockOptional();
    }

}
