package dev.andromeda.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/** Verifies HS256 bearer tokens: signature, algorithm, issuer, expiry (required) and not-before. */
public final class TokenVerifier {

    /** Who a verified token says the caller is. */
    public record Identity(String subject, List<String> roles) {}

    /** A token that must be refused; the message is safe to show the client. */
    public static final class InvalidToken extends Exception {
        public InvalidToken(String message) { super(message, null, false, false); }
    }

    private final MACVerifier verifier;
    private final String issuer;
    private final Duration skew;

    public TokenVerifier(String secret, String issuer, Duration skew) {
        try {
            this.verifier = new MACVerifier(Tokens.checkedSecret(secret));
        } catch (JOSEException e) {
            throw new IllegalStateException("m31.auth.secret is not a usable HS256 key: " + e.getMessage(), e);
        }
        this.issuer = issuer;
        this.skew = skew;
    }

    public Identity verify(String token) throws InvalidToken {
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new InvalidToken("the bearer token is not a signed JWT");
        }
        if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm())) {
            throw new InvalidToken("the bearer token must be signed with HS256");
        }
        try {
            if (!jwt.verify(verifier)) throw new InvalidToken("the bearer token's signature is invalid");
        } catch (JOSEException e) {
            throw new InvalidToken("the bearer token's signature cannot be verified");
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new InvalidToken("the bearer token's claims are malformed");
        }
        Instant now = Instant.now();
        Date exp = claims.getExpirationTime();
        if (exp == null) throw new InvalidToken("the bearer token has no expiry (exp)");
        if (exp.toInstant().plus(skew).isBefore(now)) throw new InvalidToken("the bearer token has expired");
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && nbf.toInstant().minus(skew).isAfter(now)) throw new InvalidToken("the bearer token is not valid yet");
        if (!issuer.equals(claims.getIssuer())) throw new InvalidToken("the bearer token was not issued by " + issuer);
        String subject = claims.getSubject();
        if (subject == null || subject.isBlank()) throw new InvalidToken("the bearer token has no subject");
        List<String> roles = new ArrayList<>();
        Object raw = claims.getClaim(Tokens.ROLES_CLAIM);
        if (raw instanceof List<?> list) {
            for (Object r : list) if (r != null) roles.add(r.toString());
        } else if (raw != null) {
            throw new InvalidToken("the bearer token's roles claim must be a list");
        }
        return new Identity(subject, List.copyOf(roles));
    }
}
