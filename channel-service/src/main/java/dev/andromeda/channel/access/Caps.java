package dev.andromeda.channel.access;

import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * Endpoint capabilities. A cap is {@code <endpoint id>.<mac>} where mac is the first 128 bits of
 * HMAC-SHA256(service key, channel id | end | endpoint id), base64url. Endpoint ids start with the
 * end's letter: {@code s0}/{@code r0} are the two endpoints every channel is created with, clones
 * are {@code s…}/{@code r…} with 12 random characters. The key is made once and kept in the
 * database, so caps outlive a restart and every instance of the service shares them.
 */
@Component
public class Caps {

    public static final String HEADER = "X-M31-Cap";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

    /** A verified endpoint of a channel. */
    public record Ep(String id, String end) {
        boolean sends() { return end.equals("send"); }
    }

    private final byte[] key;

    public Caps(JdbcTemplate jdbc) {
        byte[] fresh = new byte[32];
        RANDOM.nextBytes(fresh);
        jdbc.update("insert into secrets (name, value) values ('cap-key', ?) on conflict (name) do nothing", (Object) fresh);
        this.key = jdbc.queryForObject("select value from secrets where name = 'cap-key'", byte[].class);
    }

    public static String newEndpointId(String end) {
        StringBuilder b = new StringBuilder(end.equals("send") ? "s" : "r");
        for (int i = 0; i < 12; i++) b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        return b.toString();
    }

    public String mint(String channel, String endpointId) {
        return endpointId + "." + mac(channel, endOf(endpointId), endpointId);
    }

    /** The endpoint a cap names, when it is a genuine cap of this channel; else null. */
    public Ep verify(String channel, String cap) {
        if (cap == null) return null;
        int dot = cap.indexOf('.');
        if (dot < 2 || dot > 40) return null;
        String ep = cap.substring(0, dot);
        String end = endOf(ep);
        if (end == null) return null;
        byte[] want = mac(channel, end, ep).getBytes(StandardCharsets.US_ASCII);
        byte[] got = cap.substring(dot + 1).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(want, got) ? new Ep(ep, end) : null;
    }

    private static String endOf(String endpointId) {
        if (endpointId.isEmpty()) return null;
        return switch (endpointId.charAt(0)) {
            case 's' -> "send";
            case 'r' -> "recv";
            default -> null;
        };
    }

    private String mac(String channel, String end, String ep) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] h = m.doFinal((channel + "|" + end + "|" + ep).getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(h, 16));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Checks every endpoint object inside a message: an object with a {@code $ch} member must be
     * exactly {"$ch": "/ch/{id}", "end": "send"|"recv"} plus an optional genuine "cap" of that end;
     * 422 naming where it is otherwise. Endpoints travel as they are.
     */
    public void checkEndpoints(JsonNode v, String path) {
        // the walk below names every member it passes (for the 422): only worth it when there is an endpoint
        if (holdsEndpoint(v)) walk(v, path);
    }

    /** Whether an object in {@code v} has a {@code $ch} member (found without naming paths). */
    public static boolean holdsEndpoint(JsonNode v) {
        if (v.isObject()) {
            if (v.has("$ch")) return true;
            for (var e : v.properties()) {
                if (e.getValue().isContainer() && holdsEndpoint(e.getValue())) return true;
            }
        } else if (v.isArray()) {
            for (JsonNode e : v) {
                if (e.isContainer() && holdsEndpoint(e)) return true;
            }
        }
        return false;
    }

    private void walk(JsonNode v, String path) {
        if (v.isObject()) {
            if (v.has("$ch")) {
                checkEndpoint(v, path);
                return;
            }
            for (var e : v.properties()) {
                if (e.getValue().isContainer()) walk(e.getValue(), path + "." + e.getKey());
            }
        } else if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) {
                if (v.get(i).isContainer()) walk(v.get(i), path + "[" + i + "]");
            }
        }
    }

    private void checkEndpoint(JsonNode v, String path) {
        JsonNode ch = v.get("$ch"), end = v.get("end"), cap = v.get("cap");
        for (String k : v.propertyNames()) {
            if (!k.equals("$ch") && !k.equals("end") && !k.equals("cap")) {
                throw M31Problem.unprocessable(path + "." + k, path + ": an endpoint has only $ch, end and cap (not " + k + ")");
            }
        }
        if (!ch.isString() || !ch.asString().startsWith("/ch/") || !Ids.isValid(ch.asString().substring(4), Ids.CHANNEL)) {
            throw M31Problem.unprocessable(path + ".$ch", path + ": $ch is the URI of a channel, /ch/{id}");
        }
        if (end == null || !end.isString() || !(end.asString().equals("send") || end.asString().equals("recv"))) {
            throw M31Problem.unprocessable(path + ".end", path + ": an endpoint's end is \"send\" or \"recv\"");
        }
        if (cap != null) {
            Ep ep = cap.isString() ? verify(ch.asString().substring(4), cap.asString()) : null;
            if (ep == null || !ep.end().equals(end.asString())) {
                throw M31Problem.unprocessable(path + ".cap", path + ": not a capability of that endpoint");
            }
        }
    }
}
