package dev.andromeda.store.code;

import dev.andromeda.api.CodeApi;
import dev.andromeda.api.model.CodeRef;
import java.net.URI;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RestController;

/** /code: content-addressed function and module sources. */
@RestController
public class CodeController implements CodeApi {

    private static final MediaType TEXT_UTF8 = new MediaType("text", "plain", java.nio.charset.StandardCharsets.UTF_8);

    private final CodeStore code;

    CodeController(CodeStore code) {
        this.code = code;
    }

    @Override
    public ResponseEntity<CodeRef> storeCode(String body) {
        CodeRef ref = code.store(body);
        return ResponseEntity.created(URI.create(ref.getUri())).body(ref);
    }

    @Override
    public ResponseEntity<String> getCode(String fingerprint) {
        return ResponseEntity.ok().contentType(TEXT_UTF8)
                .header("Cache-Control", "public, max-age=31536000, immutable")
                .eTag("\"" + fingerprint + "\"")
                .body(code.get(fingerprint));
    }
}
