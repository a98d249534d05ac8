package dev.andromeda.store.code;

import dev.andromeda.api.model.CodeRef;
import dev.andromeda.common.problem.M31Problem;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/** Content-addressed sources: stored once under the lowercase hex SHA-256 of their UTF-8 bytes. */
@Service
public class CodeStore {

    public static final int MAX_BYTES = 1024 * 1024;
    static final Pattern FINGERPRINT = Pattern.compile("^[0-9a-f]{64}$");

    private final JdbcClient jdbc;

    CodeStore(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    static String fingerprint(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    CodeRef store(String source) {
        if (source == null) source = "";
        byte[] bytes = source.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_BYTES) throw M31Problem.tooLarge("body", "source is " + bytes.length + " bytes; at most " + MAX_BYTES);
        if (source.indexOf('\0') >= 0) throw M31Problem.badRequest("body", "source text has no NUL character");
        String fp = fingerprint(bytes);
        jdbc.sql("insert into code (fingerprint, source) values (?, ?) on conflict (fingerprint) do nothing")
                .params(fp, source).update();
        CodeRef ref = new CodeRef();
        ref.setFingerprint(fp);
        ref.setUri("/code/" + fp);
        ref.setBytes(bytes.length);
        return ref;
    }

    String get(String fingerprint) {
        if (fingerprint == null || !FINGERPRINT.matcher(fingerprint).matches()) {
            throw M31Problem.badRequest("fingerprint", "a fingerprint is 64 lowercase hex digits (SHA-256)");
        }
        Optional<String> s = jdbc.sql("select source from code where fingerprint = ?").param(fingerprint).query(String.class).optional();
        return s.orElseThrow(() -> M31Problem.notFound("no code " + fingerprint));
    }
}
