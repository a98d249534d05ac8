package dev.andromeda.store.versions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.store.StoreTestBase;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Every version kept with its parent; branches written apart and merged back three-way. */
class VersionTest extends StoreTestBase {

    @Test
    void versionsBranchesAndMerges() {
        assertThat(http.put("/fs/docs", """
                {"key":"k","attrs":{"title":"Str","n":"Int","body":"Str"},"opts":{"versioning":true}}""").status()).isEqualTo(201);
        assertThat(http.put("/fs/docs/d", "{\"attrs\":{\"title\":\"T\",\"n\":1,\"body\":\"b0\"}}").status()).isEqualTo(201);   // v1
        assertThat(http.put("/fs/docs/d", "{\"attrs\":{\"title\":\"T\",\"n\":2,\"body\":\"b0\"}}").status()).isEqualTo(200);   // v2
        // an invocation and a label change make versions too
        assertThat(http.post("/fs/docs:invoke", """
                {"batchId":"i1","invocations":[{"key":"d","ops":{"n":{"op":"incr","n":10}}}]}""").status()).isEqualTo(200); // v3
        assertThat(raw("PATCH", "/fs/docs/d/labels", "{\"set\":{\"state\":\"draft\"}}").statusCode()).isEqualTo(200);     // v4

        assertThat(http.get("/fs/docs/d?version=1").json().get("attrs").get("n").asLong()).isEqualTo(1);
        assertThat(http.get("/fs/docs/d?version=2").json().get("attrs").get("n").asLong()).isEqualTo(2);
        assertThat(http.get("/fs/docs/d?version=3").json().get("attrs").get("n").asLong()).isEqualTo(12);
        assertThat(http.get("/fs/docs/d?version=3").json().get("labels").has("state")).isFalse();
        assertThat(http.get("/fs/docs/d?version=4").json().get("labels").get("state").asString()).isEqualTo("draft");
        assertThat(http.get("/fs/docs/d?version=9").status()).isEqualTo(404);
        JsonNode vs = http.get("/fs/docs/d/versions").json().get("versions");
        assertThat(vs.size()).isEqualTo(4);
        assertThat(vs.get(0).get("version").asLong()).isEqualTo(4);
        assertThat(vs.get(0).get("parent").asLong()).isEqualTo(3);
        assertThat(vs.get(3).get("version").asLong()).isEqualTo(1);
        assertThat(vs.get(3).path("parent").isNull() || vs.get(3).path("parent").isMissingNode()).isTrue(); // the first has none

        // a branch from version 2 gets that state, and its writes stay on it
        var b = http.post("/fs/docs/d/branches", "{\"name\":\"edit\",\"from\":2}");
        assertThat(b.status()).as(b.body()).isEqualTo(201);
        assertThat(b.json().get("base").asLong()).isEqualTo(2);
        assertThat(http.post("/fs/docs/d/branches", "{\"name\":\"edit\",\"from\":2}").status()).isEqualTo(409);
        assertThat(http.get("/fs/docs/d?branch=edit").json().get("attrs").get("n").asLong()).isEqualTo(2);
        var w = raw("PUT", "/fs/docs/d?branch=edit", "{\"attrs\":{\"title\":\"T2\",\"n\":2,\"body\":\"b0\"}}", "If-Match", "\"2\"");
        assertThat(w.statusCode()).as(text(w)).isEqualTo(200);
        assertThat(json(w).get("branch").asString()).isEqualTo("edit");
        long bv = json(w).get("version").asLong();
        assertThat(raw("PUT", "/fs/docs/d?branch=edit", "{\"attrs\":{\"title\":\"T3\"}}", "If-Match", "\"2\"").statusCode()).isEqualTo(412);
        assertThat(http.get("/fs/docs/d").json().get("attrs").get("title").asString()).isEqualTo("T");
        assertThat(http.get("/fs/docs/d?branch=edit&version=" + bv).json().get("attrs").get("title").asString()).isEqualTo("T2");
        assertThat(http.get("/fs/docs/d?branch=edit&version=1").json().get("attrs").get("n").asLong()).isEqualTo(1); // before the branch point
        assertThat(http.get("/fs/docs/d/branches").json().get(0).get("name").asString()).isEqualTo("edit");

        // clean merge: title changed on the branch only, n on the main line only
        var m = http.post("/fs/docs/d/branches/edit:merge", null);
        assertThat(m.status()).as(m.body()).isEqualTo(200);
        assertThat(m.json().get("attrs").get("title").asString()).isEqualTo("T2");
        assertThat(m.json().get("attrs").get("n").asLong()).isEqualTo(12);
        assertThat(m.json().get("labels").get("state").asString()).isEqualTo("draft");
        assertThat(m.json().get("version").asLong()).isEqualTo(5);

        // conflict: body changed differently on both sides since the merge
        assertThat(http.put("/fs/docs/d?branch=edit", "{\"attrs\":{\"title\":\"T2\",\"n\":12,\"body\":\"branch\"}}").status()).isEqualTo(200);
        assertThat(http.put("/fs/docs/d", "{\"attrs\":{\"title\":\"T2\",\"n\":13,\"body\":\"main\"}}").status()).isEqualTo(200);
        var c = http.post("/fs/docs/d/branches/edit:merge", null);
        assertThat(c.status()).isEqualTo(409);
        JsonNode conflicts = c.json().get("conflicts");
        assertThat(conflicts.size()).isEqualTo(1);
        assertThat(conflicts.get(0).get("name").asString()).isEqualTo("body");
        assertThat(conflicts.get(0).get("main").asString()).isEqualTo("main");
        assertThat(conflicts.get(0).get("branch").asString()).isEqualTo("branch");
        assertThat(conflicts.get(0).get("base").asString()).isEqualTo("b0");
        // nothing written by the failed merge
        assertThat(http.get("/fs/docs/d").json().get("attrs").get("body").asString()).isEqualTo("main");
        assertThat(http.get("/fs/docs/d").json().get("version").asLong()).isEqualTo(6);

        assertThat(http.get("/fs/docs/d?branch=nope").status()).isEqualTo(404);
        assertThat(http.put("/fs/plainv", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}").status()).isEqualTo(201);
        http.put("/fs/plainv/x", "{\"attrs\":{\"n\":1}}");
        assertThat(http.get("/fs/plainv/x?version=1").field()).isEqualTo("version");
        assertThat(http.post("/fs/plainv/x/branches", "{\"name\":\"b\"}").status()).isEqualTo(400);
        // rm of the object takes its history with it
        assertThat(http.delete("/fs/docs/d").status()).isEqualTo(204);
        assertThat(http.get("/fs/docs/d?version=1").status()).isEqualTo(404);
    }
}
