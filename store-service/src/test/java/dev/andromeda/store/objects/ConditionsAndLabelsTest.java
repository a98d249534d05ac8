package dev.andromeda.store.objects;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.store.StoreTestBase;
import org.junit.jupiter.api.Test;

/** ETags and conditional writes; labels changed without touching attributes. */
class ConditionsAndLabelsTest extends StoreTestBase {

    @Test
    void ifMatchIsCompareAndSetOnTheVersion() {
        assertThat(http.put("/fs/cas", """
                {"key":"k","attrs":{"n":"Int"}}""").status()).isEqualTo(201);
        var created = raw("PUT", "/fs/cas/x", "{\"attrs\":{\"n\":1}}", "If-None-Match", "*");
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(created.headers().firstValue("ETag")).contains("\"1\"");
        // create-only again: the object exists
        assertThat(raw("PUT", "/fs/cas/x", "{\"attrs\":{\"n\":9}}", "If-None-Match", "*").statusCode()).isEqualTo(412);

        var got = raw("GET", "/fs/cas/x", null);
        String etag = got.headers().firstValue("ETag").orElseThrow();
        assertThat(etag).isEqualTo("\"1\"");
        var ok = raw("PUT", "/fs/cas/x", "{\"attrs\":{\"n\":2}}", "If-Match", etag);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("ETag")).contains("\"2\"");
        // a second writer with the old ETag loses, and changes nothing
        var lost = raw("PUT", "/fs/cas/x", "{\"attrs\":{\"n\":3}}", "If-Match", etag);
        assertThat(lost.statusCode()).isEqualTo(412);
        assertThat(lost.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(http.get("/fs/cas/x").json().get("attrs").get("n").asLong()).isEqualTo(2);
        assertThat(raw("PUT", "/fs/cas/nope", "{\"attrs\":{\"n\":3}}", "If-Match", "\"1\"").statusCode()).isEqualTo(412);
        assertThat(http.get("/fs/cas/nope").status()).isEqualTo(404);
        assertThat(raw("PUT", "/fs/cas/x", "{\"attrs\":{\"n\":3}}", "If-Match", "not-an-etag").statusCode()).isEqualTo(400);

        assertThat(raw("DELETE", "/fs/cas/x", null, "If-Match", "\"1\"").statusCode()).isEqualTo(412);
        assertThat(http.get("/fs/cas/x").status()).isEqualTo(200);
        assertThat(raw("DELETE", "/fs/cas/x", null, "If-Match", "\"2\"").statusCode()).isEqualTo(204);
        assertThat(http.get("/fs/cas/x").status()).isEqualTo(404);
        assertThat(http.delete("/fs/cas").status()).isEqualTo(204);
    }

    @Test
    void labelsAreSetAndRemovedWithoutTouchingAttributes() {
        assertThat(http.put("/fs/tagged", """
                {"key":"k","attrs":{"n":"Int"},"labels":{"team":"ada","tier":"hot"}}""").status()).isEqualTo(201);
        var made = http.put("/fs/tagged/x", "{\"attrs\":{\"n\":7},\"labels\":{\"tier\":\"cold\"}}");
        // the space's default labels, overlaid with the object's own
        assertThat(made.json().get("labels").get("team").asString()).isEqualTo("ada");
        assertThat(made.json().get("labels").get("tier").asString()).isEqualTo("cold");

        var patched = raw("PATCH", "/fs/tagged/x/labels", """
                {"set":{"path":"/a/b","color":"red"},"remove":["team"]}""");
        assertThat(patched.statusCode()).as(text(patched)).isEqualTo(200);
        var o = json(patched);
        assertThat(o.get("attrs").get("n").asLong()).isEqualTo(7);
        assertThat(o.get("labels").has("team")).isFalse();
        assertThat(o.get("labels").get("path").asString()).isEqualTo("/a/b");
        assertThat(o.get("labels").get("tier").asString()).isEqualTo("cold");
        assertThat(o.get("version").asLong()).isEqualTo(2);
        assertThat(http.get("/fs/tagged?label.color=red").json().size()).isEqualTo(1);
        assertThat(http.get("/fs/tagged?label.team=ada").json().size()).isZero();

        // conditional too, and nothing changes when the condition fails
        assertThat(raw("PATCH", "/fs/tagged/x/labels", "{\"set\":{\"color\":\"blue\"}}", "If-Match", "\"1\"").statusCode()).isEqualTo(412);
        assertThat(raw("PATCH", "/fs/tagged/x/labels", "{\"set\":{\"color\":\"blue\"}}", "If-Match", "\"2\"").statusCode()).isEqualTo(200);
        assertThat(http.get("/fs/tagged/x").json().get("labels").get("color").asString()).isEqualTo("blue");
        assertThat(raw("PATCH", "/fs/tagged/none/labels", "{\"set\":{\"a\":\"b\"}}").statusCode()).isEqualTo(404);
        assertThat(raw("PATCH", "/fs/tagged/x/labels", "{\"set\":{\"\":\"b\"}}").statusCode()).isEqualTo(422);
        assertThat(raw("PATCH", "/fs/tagged/x/labels", "{\"set\":{\"a\":\"b\"},\"remove\":[\"a\"]}").statusCode()).isEqualTo(422);
        // label names and values that look like SQL are data
        String evil = "'; drop table spaces; --";
        assertThat(raw("PATCH", "/fs/tagged/x/labels", dev.andromeda.common.testing.TestHttp.json(
                java.util.Map.of("set", java.util.Map.of(evil, evil)))).statusCode()).isEqualTo(200);
        assertThat(http.get("/fs/tagged?label." + dev.andromeda.common.testing.TestHttp.enc(evil) + "="
                + dev.andromeda.common.testing.TestHttp.enc(evil)).json().size()).isEqualTo(1);
        assertThat(http.get("/fs/tagged?label." + dev.andromeda.common.testing.TestHttp.enc(evil) + ".prefix="
                + dev.andromeda.common.testing.TestHttp.enc("';")).json().size()).isEqualTo(1);
        assertThat(http.delete("/fs/tagged").status()).isEqualTo(204);
    }
}
