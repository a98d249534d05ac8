package dev.andromeda.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/**
 * Mints the HS256 bearer tokens the gateway accepts: issuer {@value #ISSUER}, a subject, a
 * {@code roles} claim, issued-at and expiry. local/ mints the admin token with it at start
 * ({@code mint(secret, "admin", List.of("admin"), ttl)}).
 */
public final class Tokens {

    public static final String ISSUER = "m31";
    public static final String ROLES_CLAIM = "roles";
    public static final int MIN_SECRET_BYTES = 32;

    private Tokens() {}

    public static String mint(String secret, String subject, List<String> roles, Duration ttl) {
        byte[] key = checkedSecret(secret);
        if (subject == null || subject.isBlank()) throw new IllegalArgumentException("subject is required");
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .subject(subject)
                .claim(ROLES_CLAIM, roles == null ? List.of() : List.copyOf(roles))
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(ttl)))
                .jwtID(UUID.randomUUID().toString())
                .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims);
        try {
            jwt.sign(new MACSigner(key));
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign token: " + e.getMessage(), e);
        }
        return jwt.serialize();
    }

    /** The secret's UTF-8 bytes, or a clear failure when it is missing or shorter than 32 bytes. */
    public static byte[] checkedSecret(String secret) {
        if (secret == null || secret.isBlank()) {
            throw new IllegalStateException("m31.auth.secret (env M31_AUTH_SECRET) is not set: the gateway needs an HS256 key of at least "
                    + MIN_SECRET_BYTES + " bytes");
        }
        byte[] key = secret.getBytes(StandardCharsets.UTF_8);
        if (key.length < MIN_SECRET_BYTES) {
            throw new IllegalStateException("m31.auth.secret (env M31_AUTH_SECRET) is " + key.length
                    + " bytes: an HS256 key needs at least " + MIN_SECRET_BYTES);
        }
        return key;
    }
}
