package dev.andromeda.gateway.auth;

import org.springframework.boot.context.properties.ConfigurationProperties;

/** {@code m31.auth.*}: the HS256 key tokens are signed with and/or a JWKS URL, and the issuer they must carry. */
@ConfigurationProperties(prefix = "m31.auth")
public class AuthProperties {

    private String secret;
    /** A JWKS URL (an identity provider's published keys): RS/ES/PS tokens are verified with it. */
    private String jwksUrl;
    private String issuer = Tokens.ISSUER;
    /** Clock skew tolerated on exp/nbf. */
    private java.time.Duration clockSkew = java.time.Duration.ofSeconds(30);

    public String getSecret() { return secret; }
    public void setSecret(String secret) { this.secret = secret; }
    public String getJwksUrl() { return jwksUrl; }
    public void setJwksUrl(String jwksUrl) { this.jwksUrl = jwksUrl; }
    public String getIssuer() { return issuer; }
    public void setIssuer(String issuer) { this.issuer = issuer; }
    public java.time.Duration getClockSkew() { return clockSkew; }
    public void setClockSkew(java.time.Duration clockSkew) { this.clockSkew = clockSkew; }
}
