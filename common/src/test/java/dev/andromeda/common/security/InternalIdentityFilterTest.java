package dev.andromeda.common.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.naming.Generations;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.testing.TestHttp;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A servlet service with m31.internal.key set gets the identity filter from CommonAutoConfiguration:
 * only requests signed for exactly them, once, get through; its ServiceClient signs as itself.
 */
@SpringBootTest(classes = InternalIdentityFilterTest.App.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.application.name=probe", "m31.internal.key=" + InternalIdentityFilterTest.KEY})
class InternalIdentityFilterTest {

    static final String KEY = "the-constellation-internal-key-32-bytes+";

    @SpringBootApplication
    @RestController
    static class App {
        @GetMapping("/whoami")
        Map<String, Object> whoami(HttpServletRequest req) {
            Caller c = Callers.of(req);
            Caller current = Callers.current();
            return Map.of("subject", c.subject(), "roles", c.roles(), "via", String.valueOf(c.via()),
                    "same", c.equals(current));
        }

        @PostMapping("/things/{id}")
        Map<String, Object> post(@PathVariable String id) { return Map.of("id", id); }

        /** A node holding "fb-x" at generation 2, whose current home is elsewhere at 3 after a move. */
        @GetMapping("/fibrils/{id}")
        Map<String, Object> fibril(@PathVariable String id, HttpServletRequest req) {
            Generations.check(req, id, 2, "http://other-node:8040", 3);
            return Map.of("id", id, "held", 2);
        }

        @GetMapping("/admin-only")
        Map<String, Object> adminOnly(HttpServletRequest req) {
            Access.requireAdmin(Callers.of(req), "this");
            return Map.of("ok", true);
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    ServiceClient client;

    final InternalIdentity signer = new InternalIdentity(KEY, Duration.ofSeconds(30));

    TestHttp http() { return new TestHttp(port); }

    TestHttp.Response signed(String method, String path, Caller who) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        return http().request(method, path, method.equals("GET") ? null : "{}", "application/json",
                Map.of(InternalIdentity.HEADER, signer.sign(who, method, p)));
    }

    @Test
    void aSignedRequestGetsThroughWithItsCaller() {
        TestHttp.Response r = signed("GET", "/whoami?x=1", new Caller("alice", List.of("dev"), "gateway"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().path("subject").asString()).isEqualTo("alice");
        assertThat(r.json().path("via").asString()).isEqualTo("gateway");
        assertThat(r.json().path("same").asBoolean()).isTrue();
    }

    @Test
    void missingForgedReplayedTamperedAndMisboundHeadersAre401Problems() {
        assertUnauthenticated(http().get("/whoami"));
        InternalIdentity other = new InternalIdentity("some-other-key-that-is-32-bytes-long!", Duration.ofSeconds(30));
        assertUnauthenticated(http().request("GET", "/whoami", null, null,
                Map.of(InternalIdentity.HEADER, other.sign(Caller.of("root", List.of("admin")), "GET", "/whoami"))));
        String once = signer.sign(Caller.of("alice", List.of()), "GET", "/whoami");
        assertThat(http().request("GET", "/whoami", null, null, Map.of(InternalIdentity.HEADER, once)).status()).isEqualTo(200);
        TestHttp.Response replay = http().request("GET", "/whoami", null, null, Map.of(InternalIdentity.HEADER, once));
        assertUnauthenticated(replay);
        assertThat(replay.json().path("detail").asString()).contains("replay");
        // a header made for GET /whoami does not open POST /things/1
        assertUnauthenticated(http().request("POST", "/things/1", "{}", "application/json",
                Map.of(InternalIdentity.HEADER, signer.sign(Caller.of("alice", List.of()), "GET", "/whoami"))));
        String h = signer.sign(Caller.of("alice", List.of()), "GET", "/whoami");
        assertUnauthenticated(http().request("GET", "/whoami", null, null, Map.of(InternalIdentity.HEADER, h.substring(0, h.length() - 2) + "AA")));
    }

    @Test
    void healthProbesAreOpen() {
        assertThat(http().get("/actuator/health").status()).isEqualTo(200);
    }

    @Test
    void theAutoConfiguredServiceClientSignsAsThisServiceOrAsTheCallerItActsFor() {
        JsonNode self = client.get(http().base() + "/whoami", JsonNode.class);
        assertThat(self.path("subject").asString()).isEqualTo("service:probe");
        assertThat(self.path("roles").get(0).asString()).isEqualTo("service");
        JsonNode forAlice = client.as(Caller.of("alice", List.of("dev"))).get(http().base() + "/whoami", JsonNode.class);
        assertThat(forAlice.path("subject").asString()).isEqualTo("alice");
        assertThat(forAlice.path("via").asString()).isEqualTo("service:probe");
        // the same client twice: a fresh header each time, no replay
        assertThat(client.post(http().base() + "/things/a", Map.of(), JsonNode.class).path("id").asString()).isEqualTo("a");
        assertThat(client.post(http().base() + "/things/a", Map.of(), JsonNode.class).path("id").asString()).isEqualTo("a");
        // an unsigned client is refused with the service's 401 problem
        ServiceClient plain = new ServiceClient(JsonMapper.builder().build());
        assertThatThrownBy(() -> plain.get(http().base() + "/whoami", JsonNode.class))
                .isInstanceOfSatisfying(M31Problem.class, p -> assertThat(p.status()).isEqualTo(401));
    }

    @Test
    void adminChecksUseTheVerifiedCaller() {
        assertThat(signed("GET", "/admin-only", Caller.of("root", List.of("admin"))).status()).isEqualTo(200);
        TestHttp.Response r = signed("GET", "/admin-only", Caller.of("alice", List.of("dev")));
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.contentType()).startsWith("application/problem+json");
    }

    @Test
    void aStaleGenerationIs421ForTheGatewayAnd307ForOthers() {
        String p = "/fibrils/fb-x";
        TestHttp.Response current = http().request("GET", p, null, null, Map.of(InternalIdentity.HEADER,
                signer.sign(Caller.of("alice", List.of()), "GET", p), Generations.HEADER, "2", Generations.ROUTED_HEADER, "gateway"));
        assertThat(current.status()).isEqualTo(200);
        TestHttp.Response older = http().request("GET", p, null, null, Map.of(InternalIdentity.HEADER,
                signer.sign(Caller.of("alice", List.of()), "GET", p), Generations.HEADER, "1"));
        assertThat(older.status()).as("an older handle reaching the holder is served").isEqualTo(200);
        TestHttp.Response routed = http().request("GET", p, null, null, Map.of(InternalIdentity.HEADER,
                signer.sign(Caller.of("alice", List.of()), "GET", p), Generations.HEADER, "3", Generations.ROUTED_HEADER, "gateway"));
        assertThat(routed.status()).isEqualTo(421);
        assertThat(routed.contentType()).startsWith("application/problem+json");
        assertThat(routed.json().path("type").asString()).isEqualTo("/problems/stale-generation");

        java.net.http.HttpClient nofollow = java.net.http.HttpClient.newBuilder().followRedirects(java.net.http.HttpClient.Redirect.NEVER).build();
        try {
            var resp = nofollow.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(http().base() + p + "?wait=1"))
                    .header(InternalIdentity.HEADER, signer.sign(Caller.of("alice", List.of()), "GET", p))
                    .header(Generations.HEADER, "3").build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(resp.statusCode()).isEqualTo(307);
            assertThat(resp.headers().firstValue("Location")).hasValue("http://other-node:8040/fibrils/fb-x?wait=1");
            assertThat(resp.headers().firstValue(Generations.HEADER)).hasValue("3");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void assertUnauthenticated(TestHttp.Response r) {
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.json().path("status").asInt()).isEqualTo(401);
    }
}
