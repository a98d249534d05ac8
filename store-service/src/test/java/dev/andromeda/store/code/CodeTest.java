package dev.andromeda.store.code;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import dev.andromeda.store.StoreTestBase;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class CodeTest extends StoreTestBase {

    static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void storeIsContentAddressedAndIdempotent() throws Exception {
        String src = "function main(url) { return 'π ≈ 3.14159 🚀'; }\n";
        var r = http.postText("/code", src);
        assertThat(r.status()).isEqualTo(201);
        String fp = r.json().get("fingerprint").asString();
        assertThat(fp).isEqualTo(sha256(src)).matches("[0-9a-f]{64}");
        assertThat(r.json().get("uri").asString()).isEqualTo("/code/" + fp);
        assertThat(r.json().get("bytes").asInt()).isEqualTo(src.getBytes(StandardCharsets.UTF_8).length);

        var again = http.postText("/code", src);
        assertThat(again.status()).isEqualTo(201);
        assertThat(again.json().get("fingerprint").asString()).isEqualTo(fp);

        var got = http.get("/code/" + fp);
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.contentType()).startsWith("text/plain");
        assertThat(got.body()).isEqualTo(src);
    }

    @Test
    void aBodyWithoutCharsetIsReadAsUtf8() throws Exception {
        String src = "// ünïcödé\n";
        var r = http.request("POST", "/code", src, "text/plain", java.util.Map.of());
        assertThat(r.json().get("fingerprint").asString()).isEqualTo(sha256(src));
    }

    @Test
    void badUnknownAndTooLarge() {
        var bad = http.get("/code/NOT-A-FINGERPRINT");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.contentType()).startsWith("application/problem+json");
        assertThat(http.get("/code/" + "A".repeat(64)).status()).isEqualTo(400);
        var unknown = http.get("/code/" + "0".repeat(64));
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.contentType()).startsWith("application/problem+json");
        var big = http.postText("/code", "x".repeat(1024 * 1024 + 1));
        assertThat(big.status()).isEqualTo(413);
        assertThat(http.postText("/code", "y".repeat(1024 * 1024)).status()).isEqualTo(201);
    }
}
