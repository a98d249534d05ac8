package dev.andromeda.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.MalformedURLException;
import java.net.URI;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * Verifies bearer tokens: HS256 with the shared secret ({@code m31.auth.secret}), and/or RS/ES/PS
 * tokens with the public keys an identity provider publishes as a JWKS
 * ({@code m31.auth.jwks-url}; fetched, cached and re-fetched on an unknown key id by nimbus'
 * {@link JWKSourceBuilder}). Then the claims: issuer, expiry (required), not-before, subject,
 * and a {@code roles} list.
 */
public final class TokenVerifier {

    /** Who a verified token says the caller is. */
    public record Identity(String subject, List<String> roles) {}

    /** A token that must be refused; the message is safe to show the client. */
    public static final class InvalidToken extends Exception {
        public InvalidToken(String message) { super(message, null, false, false); }
    }

    static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512,
            JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512);

    private final MACVerifier mac;
    private final DefaultJWTProcessor<SecurityContext> jwks;
    private final String issuer;
    private final Duration skew;
    /**
     * Tokens already verified, by their exact text: a client sends the same token on every request,
     * and parsing, MAC/signature checking and claim reading is most of the gateway's own work on a
     * request. An entry holds until the token's expiry (plus the skew, as {@link #identity} allows),
     * but no longer than {@link #CACHE_FOR}, so that a key withdrawn from the JWKS stops admitting
     * tokens soon. Only good tokens are remembered; the map is bounded.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, Cached> verified = new java.util.concurrent.ConcurrentHashMap<>();
    static final Duration CACHE_FOR = Duration.ofSeconds(60);
    static final int CACHE_ENTRIES = 10_000;

    private record Cached(Identity identity, long untilMillis) {}

    /** HS256 only. */
    public TokenVerifier(String secret, String issuer, Duration skew) {
        this(secret, null, issuer, skew);
    }

    /**
     * @param secret  the HS256 key (may be blank when {@code jwksUrl} is given)
     * @param jwksUrl where the identity provider publishes its keys (may be blank when {@code secret} is given)
     */
    public TokenVerifier(String secret, String jwksUrl, String issuer, Duration skew) {
        boolean hasSecret = secret != null && !secret.isBlank();
        boolean hasJwks = jwksUrl != null && !jwksUrl.isBlank();
        if (!hasJwks || hasSecret) {
            try {
                this.mac = new MACVerifier(Tokens.checkedSecret(secret));
            } catch (JOSEException e) {
                throw new IllegalStateException("m31.auth.secret is not a usable HS256 key: " + e.getMessage(), e);
            }
        } else {
            this.mac = null;
        }
        if (hasJwks) {
            JWKSource<SecurityContext> source;
            try {
                source = JWKSourceBuilder.create(URI.create(jwksUrl).toURL()).retrying(true).build();
            } catch (MalformedURLException | IllegalArgumentException e) {
                throw new IllegalStateException("m31.auth.jwks-url is not a URL: " + jwksUrl, e);
            }
            DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
            p.setJWSKeySelector(new JWSVerificationKeySelector<>(ASYMMETRIC, source));
            p.setJWTClaimsSetVerifier((claims, ctx) -> { }); // the claims are checked below, as for HS256
            this.jwks = p;
        } else {
            this.jwks = null;
        }
        this.issuer = issuer;
        this.skew = skew;
    }

    /** True when tokens may need a network fetch (JWKS) to verify: call off the event loop. */
    public boolean mayBlock() { return jwks != null; }

    public Identity verify(String token) throws InvalidToken {
        long now = System.currentTimeMillis();
        Cached hit = verified.get(token);
        if (hit != null) {
            if (now <= hit.untilMillis()) return hit.identity();
            verified.remove(token, hit);
        }
        Cached fresh = verifyUncached(token, now);
        remember(token, fresh, now);
        return fresh.identity();
    }

    private void remember(String token, Cached fresh, long now) {
        if (verified.size() >= CACHE_ENTRIES) {
            verified.values().removeIf(c -> c.untilMillis() < now);
            if (verified.size() >= CACHE_ENTRIES) return; // many distinct live tokens: verify them each time
        }
        verified.put(token, fresh);
    }

    int cached() { return verified.size(); }

    /** The identity of a token verified before and still good, or null (then {@link #verify} it). */
    public Identity known(String token) {
        Cached hit = verified.get(token);
        return hit != null && System.currentTimeMillis() <= hit.untilMillis() ? hit.identity() : null;
    }

    private Cached verifyUncached(String token, long now) throws InvalidToken {
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new InvalidToken("the bearer token is not a signed JWT");
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        JWTClaimsSet claims;
        if (JWSAlgorithm.HS256.equals(alg) && mac != null) {
            try {
                if (!jwt.verify(mac)) throw new InvalidToken("the bearer token's signature is invalid");
            } catch (JOSEException e) {
                throw new InvalidToken("the bearer token's signature cannot be verified");
            }
            try {
                claims = jwt.getJWTClaimsSet();
            } catch (ParseException e) {
                throw new InvalidToken("the bearer token's claims are malformed");
            }
        } else if (ASYMMETRIC.contains(alg) && jwks != null) {
            try {
                claims = jwks.process(jwt, null);
            } catch (BadJOSEException e) {
                throw new InvalidToken("the bearer token's signature is invalid (no published key verifies it)");
            } catch (JOSEException e) {
                throw new InvalidToken("the bearer token's signature cannot be verified: the key set is unavailable");
            }
        } else {
            throw new InvalidToken("the bearer token must be signed with " + (mac != null && jwks != null ? "HS256 or a published key (RS/ES/PS)"
                    : mac != null ? "HS256" : "a published key (RS/ES/PS)"));
        }
        Identity who = identity(claims);
        // answered from the cache until the token's own expiry (as checked above), for at most CACHE_FOR
        long until = Math.min(claims.getExpirationTime().getTime() + skew.toMillis(), now + CACHE_FOR.toMillis());
        return new Cached(who, until);
    }

    private Identity identity(JWTClaimsSet claims) throws InvalidToken {
        Instant now = Instant.now();
        Date exp = claims.getExpirationTime();
        if (exp == null) throw new InvalidToken("the bearer token has no expiry (exp)");
        if (exp.toInstant().plus(skew).isBefore(now)) throw new InvalidToken("the bearer token has expired");
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && nbf.toInstant().minus(skew).isAfter(now)) throw new InvalidToken("the bearer token is not valid yet");
        if (!issuer.equals(claims.getIssuer())) throw new InvalidToken("the bearer token was not issued by " + issuer);
        String subject = claims.getSubject();
        if (subject == null || subject.isBlank()) throw new InvalidToken("the bearer token has no subject");
        if (subject.length() > 200 || subject.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f)) {
            throw new InvalidToken("the bearer token's subject is not acceptable");
        }
        List<String> roles = new ArrayList<>();
        Object raw = claims.getClaim(Tokens.ROLES_CLAIM);
        if (raw instanceof List<?> list) {
            for (Object r : list) if (r != null) roles.add(r.toString());
        } else if (raw != null) {
            throw new InvalidToken("the bearer token's roles claim must be a list");
        }
        // "service" is the mantle's own role: a user token never carries it into the constellation
        roles.remove(dev.andromeda.common.security.Caller.SERVICE);
        return new Identity(subject, List.copyOf(roles));
    }
}
