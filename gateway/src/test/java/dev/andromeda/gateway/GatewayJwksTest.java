package dev.andromeda.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.andromeda.gateway.auth.Tokens;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Bearer tokens verified with an identity provider's published keys (m31.auth.jwks-url) and no
 * HS256 secret at all: a JDK HTTP server publishes the JWKS of an RSA key; RS256 tokens signed
 * with it pass, anything else is refused.
 */
@SpringBootTest(classes = GatewayApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=gateway", "spring.application.name=gateway", "m31.auth.secret="})
class GatewayJwksTest {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static RSAKey key;
    static RSAKey stranger;
    static HttpServer idp;
    static HttpServer store;
    static final AtomicInteger jwksFetches = new AtomicInteger();

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        key = new RSAKeyGenerator(2048).keyID("k1").generate();
        // same key id, different key: a token signed with it must not verify
        stranger = new RSAKeyGenerator(2048).keyID("k1").generate();
        idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        idp.createContext("/jwks", ex -> {
            jwksFetches.incrementAndGet();
            byte[] b = new JWKSet(key.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/jwk-set+json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        idp.start();
        store = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        store.createContext("/", ex -> {
            byte[] b = ("{\"subject\":\"" + ex.getRequestHeaders().getFirst("X-M31-Subject") + "\",\"roles\":\""
                    + ex.getRequestHeaders().getFirst("X-M31-Roles") + "\"}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        store.start();
    }

    @AfterAll
    static void stop() {
        idp.stop(0);
        store.stop(0);
    }

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        r.add("m31.auth.jwks-url", () -> "http://127.0.0.1:" + idp.getAddress().getPort() + "/jwks");
        r.add("m31.services.store", () -> "http://127.0.0.1:" + store.getAddress().getPort());
    }

    static String token(RSAKey signWith, String subject, List<String> roles, Duration ttl) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(Tokens.ISSUER).subject(subject).claim("roles", roles)
                .issueTime(new Date()).expirationTime(Date.from(Instant.now().plus(ttl))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(signWith.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(signWith));
        return jwt.serialize();
    }

    HttpResponse<String> get(String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/fs/x")).timeout(Duration.ofSeconds(20));
        if (token != null) b.header("Authorization", "Bearer " + token);
        return http.send(b.GET().timeout(java.time.Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void rs256TokensSignedWithAPublishedKeyPass() throws Exception {
        HttpResponse<String> r = get(token(key, "carol", List.of("dev"), Duration.ofMinutes(5)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("subject").asString()).isEqualTo("carol");
        assertThat(seen.path("roles").asString()).isEqualTo("dev");
        assertThat(jwksFetches.get()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void tokensOfAnUnpublishedKeyExpiredOnesAndHs256OnesAre401() throws Exception {
        HttpResponse<String> forged = get(token(stranger, "carol", List.of("admin"), Duration.ofMinutes(5)));
        assertThat(forged.statusCode()).isEqualTo(401);
        assertThat(forged.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
        assertThat(JSON.readTree(forged.body()).path("detail").asString()).contains("signature");

        HttpResponse<String> expired = get(token(key, "carol", List.of(), Duration.ofMinutes(-5)));
        assertThat(expired.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(expired.body()).path("detail").asString()).contains("expired");

        // no HS256 secret is configured: a symmetric token is refused whatever its key
        HttpResponse<String> hs = get(Tokens.mint("some-secret-of-at-least-thirty-two-bytes", "carol", List.of(), Duration.ofMinutes(5)));
        assertThat(hs.statusCode()).isEqualTo(401);
        // no token at all: 401 beyond the anonymous reads of /fs
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/net")).timeout(Duration.ofSeconds(20)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
    }
}
