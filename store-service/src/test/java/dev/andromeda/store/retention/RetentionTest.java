package dev.andromeda.store.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.store.StoreTestBase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The pruner, called directly on one space at a time: idempotency records, versions, the change log. */
class RetentionTest extends StoreTestBase {

    @Autowired Retention retention;
    @Autowired JdbcClient jdbc;

    static final Duration NONE = Duration.ZERO;

    String batch(String id) {
        return "{\"batchId\":\"" + id + "\",\"invocations\":[{\"key\":\"w\",\"ops\":{\"n\":{\"op\":\"incr\"}}}]}";
    }

    @Test
    void aRetryInsideTheWindowIsStillRecognizedOneAfterItIsApplied() {
        assertThat(http.put("/fs/ret_b", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}").status()).isEqualTo(201);
        assertThat(http.post("/fs/ret_b:invoke", batch("old")).json().get("applied").asBoolean()).isTrue();
        assertThat(http.post("/fs/ret_b:invoke", batch("new")).json().get("applied").asBoolean()).isTrue();
        jdbc.sql("update applied_batches set applied_at = now() - interval '8 days' where space = 'ret_b' and batch_id = 'old'").update();

        Map<String, Integer> n = retention.prune(new Retention.Policy(Duration.ofDays(7), 0, NONE, NONE), "ret_b");
        assertThat(n).containsEntry("batches", 1);
        assertThat(http.post("/fs/ret_b:invoke", batch("new")).json().get("applied").asBoolean()).isFalse();
        assertThat(http.get("/fs/ret_b/w").json().get("attrs").get("n").asLong()).isEqualTo(2);
        // forgotten: the same id now counts as a new batch
        assertThat(http.post("/fs/ret_b:invoke", batch("old")).json().get("applied").asBoolean()).isTrue();
        assertThat(http.get("/fs/ret_b/w").json().get("attrs").get("n").asLong()).isEqualTo(3);
        // the configured policy keeps a week of batch ids
        assertThat(retention.policy().batches()).isEqualTo(Duration.ofDays(7));
        assertThat(http.delete("/fs/ret_b").status()).isEqualTo(204);
    }

    @Test
    void versionsKeepTheNewestAndWhatBranchesStartFrom() {
        assertThat(http.put("/fs/ret_v", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"},\"opts\":{\"versioning\":true}}").status()).isEqualTo(201);
        for (int i = 1; i <= 6; i++) assertThat(http.put("/fs/ret_v/d", "{\"attrs\":{\"n\":" + i + "}}").status()).isIn(200, 201);
        assertThat(http.post("/fs/ret_v/d/branches", "{\"name\":\"old\",\"from\":2}").status()).isEqualTo(201);
        for (int i = 1; i <= 3; i++) assertThat(http.put("/fs/ret_v/e", "{\"attrs\":{\"n\":" + i + "}}").status()).isIn(200, 201);

        Map<String, Integer> n = retention.prune(new Retention.Policy(NONE, 3, NONE, NONE), "ret_v");
        assertThat(n).containsEntry("versions", 2); // d's 1 and 3; 2 is the branch's base
        assertThat(versions("d")).containsExactly(6L, 5L, 4L, 2L);
        assertThat(versions("e")).containsExactly(3L, 2L, 1L);
        // pruned: 410 saying so and how far the line is pruned; never there: 404; the kept base: 200
        var gone = raw("GET", "/fs/ret_v/d?version=1", null);
        assertThat(gone.statusCode()).isEqualTo(410);
        assertThat(gone.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(json(gone).get("detail").asString()).contains("pruned").contains("through version 3");
        assertThat(json(gone).get("prunedThrough").asLong()).isEqualTo(3);
        assertThat(json(gone).get("prunedAt").asString()).isNotEmpty();
        assertThat(raw("GET", "/fs/ret_v/d?version=3", null).statusCode()).isEqualTo(410);
        assertThat(http.get("/fs/ret_v/d?version=2").status()).isEqualTo(200);
        assertThat(http.get("/fs/ret_v/d?version=99").status()).isEqualTo(404);
        assertThat(http.get("/fs/ret_v/e?version=1").status()).isEqualTo(200);
        // a branch from a pruned version, and reading one through a branch (below its base: the main line's)
        assertThat(http.post("/fs/ret_v/d/branches", "{\"name\":\"late\",\"from\":1}").status()).isEqualTo(410);
        assertThat(http.post("/fs/ret_v/d/branches", "{\"name\":\"late\",\"from\":42}").status()).isEqualTo(404);
        assertThat(http.get("/fs/ret_v/d?branch=old&version=1").status()).isEqualTo(410);
        // the branch still merges against its base
        assertThat(raw("PUT", "/fs/ret_v/d?branch=old", "{\"attrs\":{\"n\":2}}").statusCode()).isEqualTo(200);
        assertThat(http.post("/fs/ret_v/d/branches/old:merge", null).status()).isEqualTo(200);

        // by age: what is older goes, but never an object's newest version
        jdbc.sql("update versions set modified = now() - interval '3 days' where space = 'ret_v' and key = 'e'").update();
        n = retention.prune(new Retention.Policy(NONE, 0, Duration.ofDays(1), NONE), "ret_v");
        assertThat(n).containsEntry("versions", 2);
        assertThat(versions("e")).containsExactly(3L);
        assertThat(http.get("/fs/ret_v/e?version=3").json().get("attrs").get("n").asLong()).isEqualTo(3);
        assertThat(http.get("/fs/ret_v/e?version=1").status()).isEqualTo(410);
        // a deleted object takes its pruning record with its history: a new one of that key has no pruned versions
        assertThat(http.delete("/fs/ret_v/e").status()).isEqualTo(204);
        assertThat(http.put("/fs/ret_v/e", "{\"attrs\":{\"n\":1}}").status()).isEqualTo(201);
        assertThat(http.get("/fs/ret_v/e?version=2").status()).isEqualTo(404);
        assertThat(http.delete("/fs/ret_v").status()).isEqualTo(204);
        assertThat(jdbc.sql("select count(*) from version_horizons where space = 'ret_v'").query(Long.class).single()).isZero();
    }

    List<Long> versions(String key) {
        return versions("ret_v", key);
    }

    List<Long> versions(String space, String key) {
        return jdbc.sql("select version from versions where space = ? and key = ? and branch = '' order by version desc")
                .params(space, key).query(Long.class).list();
    }

    @Test
    void pruningByCountLooksOnlyAtLinesWrittenOrFreedSinceTheLastRun() {
        assertThat(http.put("/fs/ret_i", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"},\"opts\":{\"versioning\":true}}").status()).isEqualTo(201);
        for (int i = 1; i <= 5; i++) {
            for (String k : List.of("d", "e")) assertThat(http.put("/fs/ret_i/" + k, "{\"attrs\":{\"n\":" + i + "}}").status()).isIn(200, 201);
        }
        assertThat(http.post("/fs/ret_i/d/branches", "{\"name\":\"b\",\"from\":2}").status()).isEqualTo(201);
        Retention.Policy keep2 = new Retention.Policy(NONE, 2, NONE, NONE);

        // the first run under keep=2 walks every line
        assertThat(retention.prune(keep2, "ret_i")).containsEntry("versions", 5); // d's 1 and 3 (2 is b's base), e's 1-3
        assertThat(versions("ret_i", "d")).containsExactly(5L, 4L, 2L);
        assertThat(versions("ret_i", "e")).containsExactly(5L, 4L);
        assertThat(jdbc.sql("select keep from retention_marks where space = 'ret_i'").query(Integer.class).single()).isEqualTo(2);

        // a version slipped in behind the mark, on a line nothing has written since: the next run does not look at e
        jdbc.sql("insert into versions (space, key, branch, version, attrs, labels, modified) "
                + "values ('ret_i', 'e', '', 3, '{}', '{}', now() - interval '1 day')").update();
        // a line written since is pruned
        for (int i = 6; i <= 7; i++) assertThat(http.put("/fs/ret_i/d", "{\"attrs\":{\"n\":" + i + "}}").status()).isEqualTo(200);
        assertThat(retention.prune(keep2, "ret_i")).containsEntry("versions", 2);
        assertThat(versions("ret_i", "d")).containsExactly(7L, 6L, 2L);
        assertThat(versions("ret_i", "e")).containsExactly(5L, 4L, 3L);

        // deleting the branch frees its base, though the main line was not written: the next run prunes it
        assertThat(http.delete("/fs/ret_i/d/branches/b").status()).isEqualTo(204);
        assertThat(retention.prune(keep2, "ret_i")).containsEntry("versions", 1);
        assertThat(versions("ret_i", "d")).containsExactly(7L, 6L);
        assertThat(http.get("/fs/ret_i/d?version=2").status()).isEqualTo(410);
        assertThat(retention.prune(keep2, "ret_i")).containsEntry("versions", 0);

        // another keep walks every line again
        assertThat(retention.prune(new Retention.Policy(NONE, 1, NONE, NONE), "ret_i")).containsEntry("versions", 3);
        assertThat(versions("ret_i", "d")).containsExactly(7L);
        assertThat(versions("ret_i", "e")).containsExactly(5L);
        assertThat(http.delete("/fs/ret_i").status()).isEqualTo(204);
        assertThat(jdbc.sql("select count(*) from retention_marks where space = 'ret_i'").query(Long.class).single()).isZero();
    }

    @Test
    void aWatchFromAPrunedPointIsGone() throws Exception {
        assertThat(http.put("/fs/ret_c", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}").status()).isEqualTo(201);
        for (int i = 1; i <= 3; i++) assertThat(http.put("/fs/ret_c/x", "{\"attrs\":{\"n\":" + i + "}}").status()).isIn(200, 201);
        List<Long> seqs = jdbc.sql("select seq from changes where space = 'ret_c' order by seq").query(Long.class).list();
        assertThat(seqs).hasSize(3);
        jdbc.sql("update changes set at = now() - interval '2 days' where space = 'ret_c' and seq < ?").param(seqs.get(2)).update();

        Map<String, Integer> n = retention.prune(new Retention.Policy(NONE, 0, NONE, Duration.ofDays(1)), "ret_c");
        assertThat(n).containsEntry("changes", 2);

        var after = raw("GET", "/fs/ret_c?watch=true&after=" + seqs.get(0), null);
        assertThat(after.statusCode()).isEqualTo(410);
        assertThat(after.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(raw("GET", "/fs/ret_c?watch=true&after=" + seqs.get(1), null).statusCode()).isEqualTo(410);
        long threeDaysAgo = Instant.now().minus(Duration.ofDays(3)).getEpochSecond();
        assertThat(raw("GET", "/fs/ret_c?watch=true&since=" + threeDaysAgo, null).statusCode()).isEqualTo(410);
        // from the last kept change on, the feed is whole: it answers (and streams)
        assertThat(watchStatus("/fs/ret_c?watch=true&after=" + seqs.get(2))).isEqualTo(200);
        assertThat(watchStatus("/fs/ret_c?watch=true&since=" + Instant.now().minus(Duration.ofHours(1)).getEpochSecond())).isEqualTo(200);
        assertThat(http.delete("/fs/ret_c").status()).isEqualTo(204);
        assertThat(jdbc.sql("select count(*) from change_horizons where space = 'ret_c'").query(Long.class).single()).isZero();
    }

    /** The status of a watch, read as soon as its headers arrive (the body never ends). */
    int watchStatus(String path) throws Exception {
        HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<java.io.InputStream> r = c.send(HttpRequest.newBuilder(URI.create(http.base() + path)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        r.body().close();
        return r.statusCode();
    }
}
