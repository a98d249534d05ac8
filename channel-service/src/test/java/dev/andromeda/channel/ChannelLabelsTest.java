package dev.andromeda.channel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.channel.access.Caps;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * PATCH /ch/{id}: changing a channel's owner, readers and writers after it was made, with the
 * internal identity on (m31.internal.key), every request signed as the gateway signs it, so the
 * service decides on a verified caller.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=channel-service", "spring.application.name=channel-service",
                "m31.internal.key=" + ChannelLabelsTest.KEY})
class ChannelLabelsTest {

    static final String KEY = "channel-labels-test-internal-key-32-bytes";
    static final InternalIdentity SIGNER = new InternalIdentity(KEY, Duration.ofSeconds(30));
    static final Caller ALICE = new Caller("alice", List.of(), "gateway");
    static final Caller BOB = new Caller("bob", List.of(), "gateway");
    static final Caller CAROL = new Caller("carol", List.of(), "gateway");
    static final Caller ROOT = new Caller("root", List.of("admin"), "gateway");
    static final Caller MANTLE = Caller.service("scheduler-service");
    static final Caller ANON = Caller.ANONYMOUS;

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        SharedEngines.springProperties(true).forEach((k, v) -> r.add(k, () -> v));
    }

    @LocalServerPort int port;

    TestHttp.Response as(Caller who, String method, String path, String body) {
        return as(who, method, path, body, null);
    }

    TestHttp.Response as(Caller who, String method, String path, String body, String cap) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        Map<String, String> headers = new HashMap<>();
        headers.put(InternalIdentity.HEADER, SIGNER.sign(who, method, p));
        if (cap != null) headers.put(Caps.HEADER, cap);
        return new TestHttp(port).request(method, path, body, body == null ? null : "application/json", headers);
    }

    static void status(TestHttp.Response r, int want) {
        assertThat(r.status()).as(r.body()).isEqualTo(want);
        if (want >= 400) assertThat(r.contentType()).startsWith("application/problem+json");
    }

    static void problem(TestHttp.Response r, int want, String field) {
        status(r, want);
        assertThat(r.json().get("field").asString()).as(r.body()).isEqualTo(field);
    }

    JsonNode make(Caller who, String spec) {
        var r = as(who, "POST", "/ch", spec);
        status(r, 201);
        return r.json();
    }

    JsonNode labels(Caller who, String path) {
        var r = as(who, "GET", path, null);
        status(r, 200);
        return r.json().get("labels");
    }

    @Test
    void theOwnerAddsAndRemovesReadersAndWritersAndTheChecksFollowAtOnce() {
        String path = "/ch/" + make(ALICE, "{\"type\":\"Int\"}").get("id").asString();
        status(as(BOB, "POST", path + "/messages", "1"), 403);
        status(as(CAROL, "GET", path + "/messages?wait=0", null), 403);

        var patched = as(ALICE, "PATCH", path, "{\"set\":{\"writers\":\"bob\",\"readers\":\"carol\"}}");
        status(patched, 200);
        assertThat(patched.json().get("owner").asString()).isEqualTo("alice");
        assertThat(patched.json().get("labels").get("writers").asString()).isEqualTo("bob");
        assertThat(labels(ALICE, path).get("readers").asString()).isEqualTo("carol");

        // bob now sends and carol receives, without a cap; carol still may not send, bob may not change labels
        status(as(BOB, "POST", path + "/messages", "7"), 202);
        var got = as(CAROL, "GET", path + "/messages?wait=5", null);
        status(got, 200);
        assertThat(got.json().get("messages").get(0).get("value").asInt()).isEqualTo(7);
        status(as(CAROL, "POST", path + "/messages", "8"), 403);
        status(as(BOB, "PATCH", path, "{\"set\":{\"owner\":\"bob\"}}"), 403);
        status(as(BOB, "PATCH", path, "{\"set\":{\"writers\":\"bob,carol\"}}"), 403);
        assertThat(labels(ALICE, path).get("owner").asString()).isEqualTo("alice");

        // removed: refused at once
        status(as(ALICE, "PATCH", path, "{\"remove\":[\"writers\"]}"), 200);
        assertThat(labels(ALICE, path).has("writers")).isFalse();
        status(as(BOB, "POST", path + "/messages", "9"), 403);
        status(as(CAROL, "GET", path + "/messages?wait=0", null), 200);
    }

    @Test
    void theOwnerHandsTheChannelOverAndAnAdminChangesAnyChannel() {
        String path = "/ch/" + make(ALICE, "{\"type\":\"Int\"}").get("id").asString();
        status(as(ALICE, "PATCH", path, "{\"set\":{\"owner\":\"bob\"}}"), 200);
        // alice gave it away: she is no one to it now
        status(as(ALICE, "GET", path, null), 403);
        status(as(ALICE, "PATCH", path, "{\"set\":{\"owner\":\"alice\"}}"), 403);
        status(as(BOB, "PATCH", path, "{\"set\":{\"readers\":\"alice\"}}"), 200);
        status(as(ALICE, "GET", path, null), 200);
        var byAdmin = as(ROOT, "PATCH", path, "{\"set\":{\"owner\":\"carol\"},\"remove\":[\"readers\"]}");
        status(byAdmin, 200);
        assertThat(byAdmin.json().get("owner").asString()).isEqualTo("carol");
        assertThat(byAdmin.json().has("labels") && byAdmin.json().get("labels").has("readers")).isFalse();
        status(as(BOB, "DELETE", path, null), 403);
        status(as(CAROL, "DELETE", path, null), 204);
    }

    @Test
    void aCapabilityDoesNotChangeLabelsNorDoesAnyUserOnTheMantlesChannels() {
        JsonNode ch = make(ALICE, "{\"type\":\"Int\"}");
        String path = "/ch/" + ch.get("id").asString();
        // a cap is authority over its end, not over who else may use the channel
        status(as(BOB, "PATCH", path, "{\"set\":{\"owner\":\"bob\"}}", ch.get("send").get("cap").asString()), 403);
        status(as(ANON, "PATCH", path, "{\"set\":{\"readers\":\"*\"}}"), 401);

        // a channel the mantle made has no owner: open to use, but not to be claimed by the first who asks
        JsonNode mantles = make(MANTLE, "{\"type\":\"Int\"}");
        assertThat(mantles.hasNonNull("owner")).isFalse();
        String mantlePath = "/ch/" + mantles.get("id").asString();
        status(as(BOB, "POST", mantlePath + "/messages", "1"), 202);
        status(as(BOB, "PATCH", mantlePath, "{\"set\":{\"owner\":\"bob\"}}"), 403);
        assertThat(as(BOB, "GET", mantlePath, null).json().hasNonNull("owner")).isFalse();
        status(as(ROOT, "PATCH", mantlePath, "{\"set\":{\"owner\":\"bob\"}}"), 200);
        status(as(CAROL, "POST", mantlePath + "/messages", "2"), 403);

        // a channel with capabilities: its owner changes its labels, the mantle's services do not
        String strict = "/ch/" + make(ALICE, "{\"type\":\"Int\",\"capabilities\":true}").get("id").asString();
        status(as(MANTLE, "PATCH", strict, "{\"set\":{\"readers\":\"carol\"}}"), 403);
        status(as(ALICE, "PATCH", strict, "{\"set\":{\"readers\":\"carol\"}}"), 200);
    }

    @Test
    void badPatchesAre422NamingTheFieldAndChangeNothing() {
        String path = "/ch/" + make(ALICE, "{\"type\":\"Int\",\"labels\":{\"writers\":\"bob\"}}").get("id").asString();
        problem(as(ALICE, "PATCH", path, "{\"set\":{\"color\":\"red\"}}"), 422, "set.color");
        // a good label beside a bad one is not written either
        problem(as(ALICE, "PATCH", path, "{\"set\":{\"readers\":\"carol\",\"color\":\"red\"}}"), 422, "set.color");
        problem(as(ALICE, "PATCH", path, "{\"remove\":[\"writers\",\"color\"]}"), 422, "remove");
        problem(as(ALICE, "PATCH", path, "{\"set\":{\"readers\":\"a\\u0000b\"}}"), 422, "set.readers");
        problem(as(ALICE, "PATCH", path, "{\"set\":{\"owner\":\" \"}}"), 422, "set.owner");
        problem(as(ALICE, "PATCH", path, "{\"set\":{\"owner\":\"bob,carol\"}}"), 422, "set.owner");
        problem(as(ALICE, "PATCH", path, "{\"remove\":[\"owner\"]}"), 422, "remove");
        problem(as(ALICE, "PATCH", path, "{\"set\":{\"readers\":\"x\"},\"remove\":[\"readers\"]}"), 422, "remove");
        JsonNode after = labels(ALICE, path);
        assertThat(after.get("owner").asString()).isEqualTo("alice");
        assertThat(after.get("writers").asString()).isEqualTo("bob");
        assertThat(after.has("readers")).isFalse();
        assertThat(after.has("color")).isFalse();

        status(as(ALICE, "PATCH", path, "not json"), 400);
        status(as(ALICE, "PATCH", "/ch/ch_forged0", "{\"set\":{\"readers\":\"carol\"}}"), 400);
        status(as(ALICE, "PATCH", "/ch/" + Ids.newId(Ids.CHANNEL), "{\"set\":{\"readers\":\"carol\"}}"), 404);
    }
}
