package dev.andromeda.store.query;

import dev.andromeda.common.problem.M31Problem;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * Opaque page cursors: the position after the last row of a page (its sort value and key), bound
 * to the query's filters and sort, and signed (HMAC-SHA256) with a key every replica shares
 * through the database, so a tampered, forged or foreign cursor is a 400 rather than a query.
 */
@Component
public class Cursors {

    record Position(String value, String key) {}

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder UNB64 = Base64.getUrlDecoder();

    private final JsonMapper json;
    private final JdbcClient jdbc;
    private volatile byte[] secret;

    private final TransactionTemplate own;

    Cursors(JdbcClient jdbc, JsonMapper json, PlatformTransactionManager txm) {
        this.json = json;
        this.jdbc = jdbc;
        // the key is chosen in a transaction of its own: the first cursor may be made inside a read-only one
        this.own = new TransactionTemplate(txm);
        this.own.setPropagationBehavior(TransactionTemplate.PROPAGATION_REQUIRES_NEW);
    }

    private byte[] secret() {
        byte[] s = secret;
        if (s != null) return s;
        byte[] fresh = new byte[32];
        new SecureRandom().nextBytes(fresh);
        // the first replica to need it chooses the key; the others read it
        s = HexFormat.of().parseHex(own.execute(status -> {
            jdbc.sql("insert into settings (name, value) values ('cursor-key', ?) on conflict do nothing")
                    .param(HexFormat.of().formatHex(fresh)).update();
            return jdbc.sql("select value from settings where name = 'cursor-key'").query(String.class).single();
        }));
        secret = s;
        return s;
    }

    public String make(String filters, String value, String key) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("f", digest(filters));
        m.put("v", value);
        m.put("k", key);
        byte[] payload = json.writeValueAsBytes(m);
        return B64.encodeToString(payload) + "." + B64.encodeToString(mac(payload));
    }

    Position open(String cursor, String filters) {
        int dot = cursor.indexOf('.');
        if (cursor.length() > 16_384 || dot <= 0) throw bad("malformed");
        byte[] payload;
        byte[] sig;
        try {
            payload = UNB64.decode(cursor.substring(0, dot));
            sig = UNB64.decode(cursor.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            throw bad("malformed");
        }
        if (!MessageDigest.isEqual(sig, mac(payload))) throw bad("not signed by this store (tampered?)");
        Map<?, ?> m;
        try {
            m = json.readValue(payload, Map.class);
        } catch (RuntimeException e) {
            throw bad("malformed");
        }
        if (!digest(filters).equals(m.get("f"))) throw bad("made for another query (other filters or sort)");
        if (!(m.get("k") instanceof String k) || (m.get("v") != null && !(m.get("v") instanceof String))) throw bad("malformed");
        return new Position((String) m.get("v"), k);
    }

    private static M31Problem bad(String why) {
        return M31Problem.badRequest("cursor", "the cursor is " + why + "; use the one a page answered");
    }

    private byte[] mac(byte[] payload) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret(), "HmacSHA256"));
            return mac.doFinal(payload);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String digest(String s) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return B64.encodeToString(h).substring(0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
