package dev.andromeda.store.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Owners, readers, writers and world-readable data, with the internal identity on
 * (m31.internal.key): every request is signed as the gateway signs it, so the store decides on a
 * verified caller. The anonymous caller is what the gateway signs for a token-less GET.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=store-service", "spring.application.name=store-service",
                "m31.internal.key=" + AccessTest.KEY})
class AccessTest {

    static final String KEY = "store-access-test-internal-key-32-bytes!";
    static final InternalIdentity SIGNER = new InternalIdentity(KEY, Duration.ofSeconds(30));
    static final Caller ALICE = new Caller("alice", List.of(), "gateway");
    static final Caller BOB = new Caller("bob", List.of(), "gateway");
    static final Caller CAROL = new Caller("carol", List.of(), "gateway");
    static final Caller DAVE = new Caller("dave", List.of(), "gateway");
    static final Caller ROOT = new Caller("root", List.of("admin"), "gateway");
    static final Caller ANON = Caller.ANONYMOUS;
    static final String WORDS = "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}";

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        SharedEngines.springProperties(false).forEach((k, v) -> r.add(k, () -> v));
    }

    @LocalServerPort int port;

    TestHttp.Response as(Caller who, String method, String path, String body) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        return new TestHttp(port).request(method, path, body, "application/json",
                Map.of(InternalIdentity.HEADER, SIGNER.sign(who, method, p)));
    }

    static void status(TestHttp.Response r, int want) {
        assertThat(r.status()).as(r.body()).isEqualTo(want);
        if (want >= 400) assertThat(r.contentType()).startsWith("application/problem+json");
    }

    List<String> listed(Caller who) {
        List<String> names = new ArrayList<>();
        for (JsonNode s : as(who, "GET", "/fs", null).json().get("spaces")) names.add(s.get("name").asString());
        return names;
    }

    @Test
    void theOwnerDoesEverythingAndSomeoneElseIsRefused() {
        var made = as(ALICE, "PUT", "/fs/acl_private", WORDS);
        status(made, 201);
        assertThat(made.json().get("labels").get("owner").asString()).isEqualTo("alice");
        status(as(ALICE, "PUT", "/fs/acl_private/w1", "{\"attrs\":{\"freq\":1}}"), 201);
        status(as(ALICE, "GET", "/fs/acl_private/w1", null), 200);
        status(as(ALICE, "GET", "/fs/acl_private?freq.ge=1", null), 200);
        status(as(ALICE, "POST", "/fs/acl_private:invoke",
                "{\"batchId\":\"a1\",\"invocations\":[{\"key\":\"w1\",\"ops\":{\"freq\":{\"op\":\"incr\"}}}]}"), 200);
        // objects do not inherit the space's access labels
        assertThat(as(ALICE, "GET", "/fs/acl_private/w1", null).json().get("labels").has("owner")).isFalse();
        assertThat(listed(ALICE)).contains("acl_private");

        // bob: 403 on every read, write and delete, and the space is not even listed
        assertThat(listed(BOB)).doesNotContain("acl_private");
        status(as(BOB, "GET", "/fs/acl_private", null), 403);
        status(as(BOB, "GET", "/fs/acl_private?meta", null), 403);
        status(as(BOB, "GET", "/fs/acl_private?fmt=NDJSON", null), 403);
        status(as(BOB, "GET", "/fs/acl_private?watch=true", null), 403);
        status(as(BOB, "GET", "/fs/acl_private/w1", null), 403);
        status(as(BOB, "GET", "/fs/acl_private/missing", null), 403); // the same answer whether it exists or not
        status(as(BOB, "PUT", "/fs/acl_private/w1", "{\"attrs\":{\"freq\":9}}"), 403);
        status(as(BOB, "POST", "/fs/acl_private:invoke",
                "{\"batchId\":\"b1\",\"invocations\":[{\"key\":\"w1\",\"ops\":{\"freq\":{\"op\":\"incr\"}}}]}"), 403);
        status(as(BOB, "POST", "/fs/acl_private/w1:invoke", "{\"ops\":{\"freq\":{\"op\":\"incr\"}}}"), 403);
        status(as(BOB, "PATCH", "/fs/acl_private/w1/labels", "{\"set\":{\"color\":\"red\"}}"), 403);
        status(as(BOB, "DELETE", "/fs/acl_private/w1", null), 403);
        status(as(BOB, "PATCH", "/fs/acl_private", "{\"set\":{\"readers\":\"bob\"}}"), 403);
        status(as(BOB, "DELETE", "/fs/acl_private", null), 403);
        // a repeated mkdir by someone who may not read it tells nothing
        status(as(BOB, "PUT", "/fs/acl_private", WORDS), 403);
        // nothing bob tried changed anything
        assertThat(as(ALICE, "GET", "/fs/acl_private/w1", null).json().get("attrs").get("freq").asLong()).isEqualTo(2);

        // the owner repeats her mkdir (a no-op), an admin reads everything, the owner deletes
        status(as(ALICE, "PUT", "/fs/acl_private", WORDS), 200);
        status(as(ROOT, "GET", "/fs/acl_private/w1", null), 200);
        assertThat(listed(ROOT)).contains("acl_private");
        status(as(ALICE, "DELETE", "/fs/acl_private", null), 204);
    }

    @Test
    void readersReadAndWritersWriteButOnlyTheOwnerChangesWhoMay() {
        status(as(ALICE, "PUT", "/fs/acl_team", WORDS), 201);
        status(as(ALICE, "PUT", "/fs/acl_team/w1", "{\"attrs\":{\"freq\":1},\"labels\":{\"readers\":\"erin\"}}"), 201);
        var patched = as(ALICE, "PATCH", "/fs/acl_team", "{\"set\":{\"readers\":\"carol\",\"writers\":\"dave\"}}");
        status(patched, 200);
        assertThat(patched.json().get("labels").get("readers").asString()).isEqualTo("carol");

        // carol reads, does not write
        status(as(CAROL, "GET", "/fs/acl_team/w1", null), 200);
        status(as(CAROL, "GET", "/fs/acl_team?freq.ge=0", null), 200);
        status(as(CAROL, "GET", "/fs/acl_team/w1/versions", null), 400); // allowed in: the space keeps no versions
        status(as(CAROL, "PUT", "/fs/acl_team/w1", "{\"attrs\":{\"freq\":5}}"), 403);
        status(as(CAROL, "POST", "/fs/acl_team/w1:invoke", "{\"ops\":{\"freq\":{\"op\":\"incr\"}}}"), 403);

        // dave writes, but changes neither the readers nor the owner, of the space or of an object
        status(as(DAVE, "GET", "/fs/acl_team/w1", null), 200);
        status(as(DAVE, "PUT", "/fs/acl_team/w2", "{\"attrs\":{\"freq\":3}}"), 201);
        status(as(DAVE, "POST", "/fs/acl_team/w1:invoke", "{\"ops\":{\"freq\":{\"op\":\"incr\"}}}"), 200);
        status(as(DAVE, "PATCH", "/fs/acl_team/w1/labels", "{\"set\":{\"color\":\"red\"}}"), 200);
        status(as(DAVE, "PATCH", "/fs/acl_team/w1/labels", "{\"set\":{\"readers\":\"*\"}}"), 403);
        status(as(DAVE, "PATCH", "/fs/acl_team/w1/labels", "{\"remove\":[\"readers\"]}"), 403);
        status(as(DAVE, "PUT", "/fs/acl_team/w1", "{\"attrs\":{\"freq\":7},\"labels\":{\"readers\":\"*\"}}"), 403);
        status(as(DAVE, "PATCH", "/fs/acl_team", "{\"set\":{\"readers\":\"*\"}}"), 403);
        status(as(DAVE, "PATCH", "/fs/acl_team", "{\"set\":{\"owner\":\"dave\"}}"), 403);
        status(as(DAVE, "DELETE", "/fs/acl_team", null), 403);
        // a plain PUT by dave replaces attributes and labels, but keeps the access labels it does not name
        var put = as(DAVE, "PUT", "/fs/acl_team/w1", "{\"attrs\":{\"freq\":7}}");
        status(put, 200);
        assertThat(put.json().get("labels").get("readers").asString()).isEqualTo("erin");
        assertThat(put.json().get("labels").has("color")).isFalse();
        // a default label (not an access label) dave may change on the space
        status(as(DAVE, "PATCH", "/fs/acl_team", "{\"set\":{\"tier\":\"hot\"}}"), 200);

        // the owner narrows: carol is out at once
        status(as(ALICE, "PATCH", "/fs/acl_team", "{\"remove\":[\"readers\"]}"), 200);
        status(as(CAROL, "GET", "/fs/acl_team/w2", null), 403);
        status(as(ALICE, "DELETE", "/fs/acl_team", null), 204);
    }

    @Test
    void aWorldReadableSpaceIsOneRequestAndOnlyItBecomesPublic() {
        status(as(ALICE, "PUT", "/fs/acl_public", WORDS), 201);
        status(as(ALICE, "PUT", "/fs/acl_public/w1", "{\"attrs\":{\"freq\":1}}"), 201);
        status(as(ALICE, "PUT", "/fs/acl_hidden", WORDS), 201);
        status(as(ALICE, "PUT", "/fs/acl_hidden/w1", "{\"attrs\":{\"freq\":1}}"), 201);
        status(as(ANON, "GET", "/fs/acl_public/w1", null), 401); // private until made public

        status(as(ALICE, "PATCH", "/fs/acl_public", "{\"set\":{\"readers\":\"*\"}}"), 200);

        status(as(ANON, "GET", "/fs/acl_public/w1", null), 200);
        assertThat(as(ANON, "GET", "/fs/acl_public?freq.ge=1", null).json().size()).isEqualTo(1);
        status(as(ANON, "GET", "/fs/acl_public?meta", null), 200);
        assertThat(as(ANON, "GET", "/fs/acl_public?fmt=NDJSON", null).body()).contains("\"w1\"");
        assertThat(listed(ANON)).contains("acl_public").doesNotContain("acl_hidden");
        status(as(BOB, "GET", "/fs/acl_public/w1", null), 200);
        // readable is not writable: anonymous 401, another user 403
        status(as(ANON, "PUT", "/fs/acl_public/w1", "{\"attrs\":{\"freq\":9}}"), 401);
        status(as(ANON, "POST", "/fs/acl_public/w1:invoke", "{\"ops\":{\"freq\":{\"op\":\"incr\"}}}"), 401);
        status(as(ANON, "DELETE", "/fs/acl_public", null), 401);
        status(as(ANON, "PUT", "/fs/acl_anon", WORDS), 401); // making a space needs someone to own it
        status(as(BOB, "PUT", "/fs/acl_public/w1", "{\"attrs\":{\"freq\":9}}"), 403);
        // everything else stays private
        status(as(ANON, "GET", "/fs/acl_hidden/w1", null), 401);
        status(as(ANON, "GET", "/fs/acl_hidden?freq.ge=1", null), 401);
        status(as(ANON, "GET", "/fs/acl_hidden?watch=true", null), 401);
        // and an unsigned request never reaches the store
        assertThat(new TestHttp(port).get("/fs/acl_public/w1").status()).isEqualTo(401);

        status(as(ALICE, "DELETE", "/fs/acl_public", null), 204);
        status(as(ALICE, "DELETE", "/fs/acl_hidden", null), 204);
    }

    @Test
    void oneObjectOfAPrivateSpaceCanBeWorldReadable() {
        status(as(ALICE, "PUT", "/fs/acl_mixed", WORDS), 201);
        status(as(ALICE, "PUT", "/fs/acl_mixed/open", "{\"attrs\":{\"freq\":1}}"), 201);
        status(as(ALICE, "PUT", "/fs/acl_mixed/closed", "{\"attrs\":{\"freq\":2}}"), 201);

        var opened = as(ALICE, "PATCH", "/fs/acl_mixed/open/labels", "{\"set\":{\"readers\":\"*\"}}");
        status(opened, 200);

        var got = as(ANON, "GET", "/fs/acl_mixed/open", null);
        status(got, 200);
        assertThat(got.json().get("attrs").get("freq").asLong()).isEqualTo(1);
        status(as(BOB, "GET", "/fs/acl_mixed/open", null), 200);
        status(as(ANON, "GET", "/fs/acl_mixed/closed", null), 401);
        status(as(BOB, "GET", "/fs/acl_mixed/closed", null), 403);
        status(as(ANON, "GET", "/fs/acl_mixed/absent", null), 401);
        // a query is over the space, which stays private; so is the object's history
        status(as(ANON, "GET", "/fs/acl_mixed?freq.ge=0", null), 401);
        status(as(BOB, "GET", "/fs/acl_mixed?freq.ge=0", null), 403);
        status(as(BOB, "GET", "/fs/acl_mixed/open/versions", null), 403);
        status(as(ANON, "PUT", "/fs/acl_mixed/open", "{\"attrs\":{\"freq\":5}}"), 401);

        // and private again in one request
        status(as(ALICE, "PATCH", "/fs/acl_mixed/open/labels", "{\"remove\":[\"readers\"]}"), 200);
        status(as(ANON, "GET", "/fs/acl_mixed/open", null), 401);
        status(as(ALICE, "DELETE", "/fs/acl_mixed", null), 204);
    }
}
