package dev.andromeda.fibril.nucleus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** Compiled programs of one node by (kind, fingerprint): a thousand spawns of main compile once. */
final class CodeCache {

    private static final int SIZE = 512;

    private final Map<String, Program> programs = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Program> eldest) { return size() > SIZE; }
    };

    synchronized Program get(Program.Kind kind, String fingerprint) {
        return programs.get(kind + ":" + fingerprint);
    }

    synchronized void put(Program p) {
        programs.put(p.kind() + ":" + p.fingerprint(), p);
    }

    /** The code's name everywhere: sha256 of its UTF-8 bytes, in lower-case hex. */
    static String fingerprint(String source) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(source.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
