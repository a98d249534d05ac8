package dev.andromeda.store.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.store.StoreTestBase;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** Invocations and label changes on a branch, deleting a branch; cursors on the streamed formats. */
class BranchOpsTest extends StoreTestBase {

    static final String OPS = """
            {"batchId":"%s","ops":{"n":{"op":"incr","n":5},"best":{"op":"max","n":7},"tags":{"op":"add","n":"x"},
             "f":{"op":"incr","n":1.5},"low":{"op":"min","n":"b"},"gone":{"op":"remove","n":"a"},"once":{"op":"setIfAbsent","n":"first"}}}""";

    @Test
    void aBranchTakesInvocationsAsTheMainLineDoesAndLabelChangesAndGoesAway() {
        assertThat(http.put("/fs/bops", """
                {"key":"k","attrs":{"n":"Int","best":"Int","tags":"List<Str>","f":"Float","low":"Str","gone":"List<Str>","once":"Str"},
                 "opts":{"versioning":true}}""").status()).isEqualTo(201);
        String start = "{\"attrs\":{\"n\":1,\"tags\":[\"a\"],\"low\":\"c\",\"gone\":[\"a\",\"z\"],\"once\":\"kept\"}}";
        assertThat(http.put("/fs/bops/d", start).status()).isEqualTo(201);
        assertThat(http.put("/fs/bops/m", start).status()).isEqualTo(201);
        assertThat(http.post("/fs/bops/d/branches", "{\"name\":\"b\"}").status()).isEqualTo(201);

        // the same operations on the main line of m (SQL) and on branch b of d (in memory): the same result
        var onMain = http.post("/fs/bops/m:invoke", OPS.formatted("main-1"));
        assertThat(onMain.status()).as(onMain.body()).isEqualTo(200);
        var onBranch = raw("POST", "/fs/bops/d:invoke?branch=b", OPS.formatted("branch-1"));
        assertThat(onBranch.statusCode()).as(text(onBranch)).isEqualTo(200);
        JsonNode b = json(onBranch);
        assertThat(b.get("branch").asString()).isEqualTo("b");
        ObjectNode mainAttrs = (ObjectNode) onMain.json().get("attrs").deepCopy(), branchAttrs = (ObjectNode) b.get("attrs").deepCopy();
        mainAttrs.remove("k");
        branchAttrs.remove("k");
        assertThat(branchAttrs).isEqualTo(mainAttrs);
        assertThat(branchAttrs.get("n").asLong()).isEqualTo(6);
        assertThat(branchAttrs.get("best").asLong()).isEqualTo(7);
        assertThat(branchAttrs.get("low").asString()).isEqualTo("b");
        assertThat(branchAttrs.get("once").asString()).isEqualTo("kept");
        assertThat(branchAttrs.get("f").decimalValue()).isEqualByComparingTo("1.5");
        assertThat(branchAttrs.get("gone").toString()).isEqualTo("[\"z\"]");
        assertThat(branchAttrs.get("tags").toString()).isEqualTo("[\"a\",\"x\"]");
        // the main line of d did not move
        assertThat(http.get("/fs/bops/d").json().get("attrs").get("n").asLong()).isEqualTo(1);

        // the same batch id again changes nothing; an operation that does not fit changes nothing either
        long v = b.get("version").asLong();
        var retry = json(raw("POST", "/fs/bops/d:invoke?branch=b", OPS.formatted("branch-1")));
        assertThat(retry.get("version").asLong()).isEqualTo(v);
        assertThat(retry.get("attrs").get("n").asLong()).isEqualTo(6);
        var bad = raw("POST", "/fs/bops/d:invoke?branch=b", "{\"ops\":{\"n\":{\"op\":\"incr\",\"n\":1},\"low\":{\"op\":\"incr\",\"n\":1}}}");
        assertThat(bad.statusCode()).isEqualTo(422);
        assertThat(json(bad).get("field").asString()).isEqualTo("ops.low"); // the body is {ops}: no invocations[] in it
        assertThat(http.get("/fs/bops/d?branch=b").json().get("attrs").get("n").asLong()).isEqualTo(6);
        assertThat(raw("POST", "/fs/bops/d:invoke?branch=nope", "{\"ops\":{\"n\":{\"op\":\"incr\"}}}").statusCode()).isEqualTo(404);

        // labels on the branch, conditional like the main line's
        assertThat(raw("PATCH", "/fs/bops/d/labels?branch=b", "{\"set\":{\"state\":\"wip\"}}", "If-Match", "\"1\"").statusCode()).isEqualTo(412);
        var labelled = raw("PATCH", "/fs/bops/d/labels?branch=b", "{\"set\":{\"state\":\"wip\"}}", "If-Match", "\"" + v + "\"");
        assertThat(labelled.statusCode()).as(text(labelled)).isEqualTo(200);
        assertThat(json(labelled).get("labels").get("state").asString()).isEqualTo("wip");
        assertThat(json(labelled).get("attrs").get("n").asLong()).isEqualTo(6);
        assertThat(http.get("/fs/bops/d").json().get("labels").has("state")).isFalse();

        // the merge carries both back; then the branch is deleted with its versions, the main line stays
        var merged = http.post("/fs/bops/d/branches/b:merge", null);
        assertThat(merged.status()).as(merged.body()).isEqualTo(200);
        assertThat(merged.json().get("attrs").get("n").asLong()).isEqualTo(6);
        assertThat(merged.json().get("labels").get("state").asString()).isEqualTo("wip");
        assertThat(http.delete("/fs/bops/d/branches/b").status()).isEqualTo(204);
        assertThat(http.get("/fs/bops/d?branch=b").status()).isEqualTo(404);
        assertThat(http.get("/fs/bops/d/versions?branch=b").json().get("versions").size()).isZero();
        assertThat(http.delete("/fs/bops/d/branches/b").status()).isEqualTo(404);
        assertThat(http.get("/fs/bops/d").json().get("attrs").get("n").asLong()).isEqualTo(6);
        assertThat(http.get("/fs/bops/d/versions").json().get("versions").size()).isEqualTo(2); // v1 and the merge
        assertThat(http.delete("/fs/bops").status()).isEqualTo(204);
    }

    @Test
    void aBatchOnABranchChangesEachKeysBranchWholeOnceOrNotAtAll() {
        assertThat(http.put("/fs/bbatch", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\",\"s\":\"Str\",\"tags\":\"List<Str>\"},"
                + "\"opts\":{\"versioning\":true}}").status()).isEqualTo(201);
        for (String k : List.of("a", "b", "c")) {
            assertThat(http.put("/fs/bbatch/" + k, "{\"attrs\":{\"n\":10,\"s\":\"x\"}}").status()).isEqualTo(201);
        }
        for (String k : List.of("a", "b")) assertThat(http.post("/fs/bbatch/" + k + "/branches", "{\"name\":\"exp\"}").status()).isEqualTo(201);
        String body = """
                {"batchId":"%s","invocations":[
                 {"key":"a","ops":{"n":{"op":"incr","n":5},"tags":{"op":"add","n":"t"}}},
                 {"key":"b","ops":{"n":{"op":"decr","n":3}}},
                 {"key":"a","ops":{"n":{"op":"max","n":100}}}%s]}""";

        // both the streamed handler and the generated binding take the branch
        for (String path : List.of("/fs/bbatch:invoke?branch=exp", "/fs/bbatch:invoke?branch=exp&" + StoreController.UNUSED_PARAM + "=1")) {
            String id = "bb-" + path.length();
            var r = raw("POST", path, body.formatted(id, ""));
            assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
            assertThat(json(r).get("applied").asBoolean()).isTrue();
            assertThat(json(r).get("keys").asInt()).isEqualTo(2);
            // a retry with the same id changes nothing
            var again = raw("POST", path, body.formatted(id, ""));
            assertThat(json(again).get("applied").asBoolean()).isFalse();
        }
        JsonNode a = http.get("/fs/bbatch/a?branch=exp").json(), b = http.get("/fs/bbatch/b?branch=exp").json();
        // a: 10 + 5, then max 100 (100); the second batch: 100 + 5, max 100 (105). b: 10 - 3 - 3
        assertThat(a.get("attrs").get("n").asLong()).isEqualTo(105);
        assertThat(a.get("attrs").get("tags").toString()).isEqualTo("[\"t\"]");
        assertThat(b.get("attrs").get("n").asLong()).isEqualTo(4);
        assertThat(a.get("version").asLong()).isEqualTo(3); // one branch version per applied batch, above the base 1
        assertThat(http.get("/fs/bbatch/a/versions?branch=exp").json().get("versions").size()).isEqualTo(2);
        // the main line did not move
        for (String k : List.of("a", "b")) {
            JsonNode m = http.get("/fs/bbatch/" + k).json();
            assertThat(m.get("attrs").get("n").asLong()).isEqualTo(10);
            assertThat(m.get("version").asLong()).isEqualTo(1);
        }

        // an incr on a Str is a 422 naming it, and nothing of the batch is applied (nor its id used up)
        String bad = ",{\"key\":\"b\",\"ops\":{\"s\":{\"op\":\"incr\"}}}";
        var r = raw("POST", "/fs/bbatch:invoke?branch=exp", body.formatted("bb-bad", bad));
        assertThat(r.statusCode()).isEqualTo(422);
        assertThat(json(r).get("field").asString()).isEqualTo("invocations[3].ops.s");
        // a key without the branch: 404, and the other keys' branches keep their state
        var missing = raw("POST", "/fs/bbatch:invoke?branch=exp", body.formatted("bb-missing", ",{\"key\":\"c\",\"ops\":{\"n\":{\"op\":\"incr\"}}}"));
        assertThat(missing.statusCode()).as(text(missing)).isEqualTo(404);
        // an Int leaving its range on one key, found while applying: the other key is rolled back too
        var overflow = raw("POST", "/fs/bbatch:invoke?branch=exp", """
                {"batchId":"bb-over","invocations":[{"key":"a","ops":{"n":{"op":"incr","n":1}}},
                 {"key":"b","ops":{"n":{"op":"incr","n":9223372036854775807}}}]}""");
        assertThat(overflow.statusCode()).as(text(overflow)).isEqualTo(422);
        assertThat(http.get("/fs/bbatch/a?branch=exp").json().get("attrs").get("n").asLong()).isEqualTo(105);
        assertThat(http.get("/fs/bbatch/a?branch=exp").json().get("version").asLong()).isEqualTo(3);
        assertThat(http.get("/fs/bbatch/b?branch=exp").json().get("attrs").get("n").asLong()).isEqualTo(4);
        assertThat(raw("POST", "/fs/bbatch:invoke?branch=exp", body.formatted("bb-bad", "")).statusCode()).isEqualTo(200);
        assertThat(http.get("/fs/bbatch/b?branch=exp").json().get("attrs").get("n").asLong()).isEqualTo(1);
        assertThat(raw("POST", "/fs/bbatch:invoke?branch=no%20such", body.formatted("bb-name", "")).statusCode()).isEqualTo(400);
        assertThat(http.delete("/fs/bbatch").status()).isEqualTo(204);
    }

    @Test
    void streamedPagesCarryCursorsToo() {
        assertThat(http.put("/fs/spages", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}").status()).isEqualTo(201);
        List<Object> invs = new ArrayList<>();
        for (int i = 0; i < 95; i++) {
            invs.add(java.util.Map.of("key", String.format("k%03d", i), "ops", java.util.Map.of("n", java.util.Map.of("op", "set", "n", i / 2))));
        }
        assertThat(http.post("/fs/spages:invoke", TestHttp.json(java.util.Map.of("batchId", "fill", "invocations", invs))).status()).isEqualTo(200);
        for (String fmt : List.of("NDJSON", "CSV")) {
            List<String> keys = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                var r = raw("GET", "/fs/spages?fmt=" + fmt + "&limit=20&sort=-n" + (cursor == null ? "" : "&cursor=" + TestHttp.enc(cursor)), null);
                assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
                String[] lines = text(r).split("\r?\n");
                for (int i = fmt.equals("CSV") ? 1 : 0; i < lines.length; i++) {
                    keys.add(fmt.equals("CSV") ? lines[i].split(",")[0] : TestHttp.JSON.readTree(lines[i]).get("key").asString());
                }
                cursor = r.headers().firstValue("M31-Cursor").orElse(null);
                if (cursor != null) assertThat(r.headers().firstValue("Link").orElseThrow()).contains("fmt=" + fmt).contains("cursor=");
                pages++;
            } while (cursor != null);
            assertThat(pages).isEqualTo(5);
            // every object once, in the order of the sort (n descending, ties by key)
            List<String> want = new ArrayList<>();
            for (int n = 47; n >= 0; n--) for (int i = 0; i < 95; i++) if (i / 2 == n) want.add(String.format("k%03d", i));
            assertThat(keys).as(fmt).containsExactlyElementsOf(want);
        }
        // a page that ends exactly at the last object has no cursor; without a limit there is none either
        assertThat(raw("GET", "/fs/spages?fmt=NDJSON&limit=95", null).headers().firstValue("M31-Cursor")).isEmpty();
        assertThat(raw("GET", "/fs/spages?fmt=NDJSON", null).headers().firstValue("M31-Cursor")).isEmpty();
        // a cursor from a streamed page pages the JSON form of the same query too (it is bound to filters and sort only)
        String c = raw("GET", "/fs/spages?fmt=NDJSON&limit=20&sort=-n", null).headers().firstValue("M31-Cursor").orElseThrow();
        assertThat(http.get("/fs/spages?limit=20&sort=-n&cursor=" + TestHttp.enc(c)).json().get(0).get("key").asString()).isEqualTo("k075"); // page 1: k094, then n=46..38 in pairs, then k074
        assertThat(http.get("/fs/spages?fmt=NDJSON&limit=20&sort=n&cursor=" + TestHttp.enc(c)).status()).isEqualTo(400);
        assertThat(http.delete("/fs/spages").status()).isEqualTo(204);
    }
}
