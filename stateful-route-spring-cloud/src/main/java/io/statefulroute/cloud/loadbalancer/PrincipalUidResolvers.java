package io.statefulroute.cloud.loadbalancer;

import org.springframework.security.authentication.AuthenticationTrustResolver;
import org.springframework.security.authentication.AuthenticationTrustResolverImpl;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.ReactiveSecurityContextHolder;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.oauth2.jwt.Jwt;

import reactor.core.publisher.Mono;

/**
 * {@link UidResolver}s that take the uid from the authenticated user (Spring Security). They
 * read the reactive security context (a gateway's filter chain), else the thread's (a
 * blocking {@code RestClient} call). A request that is not authenticated, or only
 * anonymously (Spring Security's {@code AnonymousAuthenticationToken}), has no uid.
 */
public final class PrincipalUidResolvers {

    /** Spring Security's own test of "authenticated and not anonymous". */
    private static final AuthenticationTrustResolver TRUST = new AuthenticationTrustResolverImpl();

    private PrincipalUidResolvers() {
    }

    /** The authenticated principal's name. */
    public static UidResolver principalName() {
        return (request) -> authentication().flatMap((authentication) -> RequestUidResolvers.present(authentication.getName()));
    }

    /**
     * A claim of the authenticated user's JWT (for example {@code sub}); none without a JWT.
     * Needs {@code spring-security-oauth2-jose}.
     */
    public static UidResolver jwtClaim(String claim) {
        return (request) -> authentication().flatMap((authentication) -> JwtClaims.claim(authentication, claim));
    }

    private static Mono<Authentication> authentication() {
        return ReactiveSecurityContextHolder.getContext()
            .mapNotNull(SecurityContext::getAuthentication)
            .switchIfEmpty(Mono.fromSupplier(() -> SecurityContextHolder.getContext().getAuthentication()))
            // an anonymous token counts as authenticated, yet names nobody: every anonymous
            // request would be the one user "anonymousUser", pinned to one pod
            .filter(TRUST::isAuthenticated);
    }

    /** Apart, so that the JWT classes load only for a JWT resolver. */
    private static final class JwtClaims {

        static Mono<String> claim(Authentication authentication, String claim) {
            return (authentication.getPrincipal() instanceof Jwt jwt)
                    ? RequestUidResolvers.present(jwt.getClaimAsString(claim)) : Mono.empty();
        }

    }

}
