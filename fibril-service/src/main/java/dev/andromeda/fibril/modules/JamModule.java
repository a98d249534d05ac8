package dev.andromeda.fibril.modules;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;

/**
 * {@code jam}: archives and words, natively (a hot loop in an interpreted script costs ~15
 * times a compiled one). unzip/gunzip give a Text of the contents as ISO-8859-1, so every byte
 * survives as one char and words match tr's byte-wise view; split/words/count tokenize the way
 * McIlroy's pipeline does.
 */
final class JamModule {

    private final ScriptableObject object;
    private final ScriptableObject textProto;
    private final Scriptable shared;
    private final long maxInflated;

    JamModule(Modules modules, Context cx, Scriptable shared) {
        this.shared = shared;
        this.maxInflated = modules.nucleus().settings().getMaxInflatedBytes();

        textProto = modules.module(cx);
        modules.function(cx, textProto, "split", 0, (f, c, thisObj, args) -> words(c, textOf(thisObj, "split")));
        modules.function(cx, textProto, "text", 0, (f, c, thisObj, args) -> textOf(thisObj, "text").text());
        modules.function(cx, textProto, "toString", 0, (f, c, thisObj, args) -> textOf(thisObj, "toString").text());
        textProto.sealObject();

        object = modules.module(cx);
        modules.function(cx, object, "unzip", 1, (f, c, thisObj, args) -> text(unzip(bytes(args, "jam.unzip"))));
        modules.function(cx, object, "gunzip", 1, (f, c, thisObj, args) -> text(gunzip(bytes(args, "jam.gunzip"))));
        modules.function(cx, object, "words", 1, (f, c, thisObj, args) -> words(c, anyText(args, "jam.words")));
        modules.function(cx, object, "count", 1, (f, c, thisObj, args) -> {
            TextObject t = anyText(args, "jam.count");
            CountsObject counts = new CountsObject(Words.count(t.bytes(), t.length()));
            counts.setPrototype(ScriptableObject.getObjectPrototype(shared));
            counts.setParentScope(shared);
            counts.sealObject();
            return counts;
        });
        object.sealObject();
    }

    ScriptableObject object() { return object; }
    ScriptableObject textProto() { return textProto; }

    private TextObject text(Buffer b) {
        TextObject t = new TextObject(b.bytes, b.size);
        t.setPrototype(textProto);
        t.setParentScope(shared);
        t.sealObject();
        return t;
    }

    private Object words(Context cx, TextObject text) {
        List<String> words = Words.split(text.bytes(), text.length());
        return cx.newArray(shared, words.toArray());
    }

    private static TextObject textOf(Scriptable thisObj, String method) {
        if (thisObj instanceof TextObject t) return t;
        throw ScriptRuntime.typeError(method + "() must be called on a Text (from jam.unzip or jam.gunzip)");
    }

    private static byte[] bytes(Object[] args, String fn) {
        Object v = Args.at(args, 0);
        if (v instanceof BytesObject b) return b.bytes();
        if (v instanceof CharSequence s) return s.toString().getBytes(StandardCharsets.ISO_8859_1);
        throw ScriptRuntime.typeError(fn + " needs bytes, e.g. res.content()");
    }

    /** A text, a JS string or bytes, as bytes (a string's chars past Latin-1 are no letters: any non-letter stands for them). */
    private static TextObject anyText(Object[] args, String fn) {
        Object v = Args.at(args, 0);
        if (v instanceof TextObject t) return t;
        if (v instanceof BytesObject b) return new TextObject(b.bytes(), b.bytes().length);
        if (v instanceof CharSequence s) {
            byte[] bytes = new byte[s.length()];
            for (int i = 0; i < bytes.length; i++) {
                char c = s.charAt(i);
                bytes[i] = c < 256 ? (byte) c : (byte) ' ';
            }
            return new TextObject(bytes, bytes.length);
        }
        throw ScriptRuntime.typeError(fn + " needs a text, a string or bytes");
    }

    /** Inflated bytes, kept as they are (no copy to a right-sized array, no String). */
    static final class Buffer {
        byte[] bytes;
        int size;

        Buffer(int initial) { bytes = new byte[Math.max(initial, 1024)]; }

        String string() { return new String(bytes, 0, size, StandardCharsets.ISO_8859_1); }
    }

    /** Every entry's bytes, in archive order, back to back (as {@code unzip -p} prints them). */
    Buffer unzip(byte[] zip) {
        Buffer out = new Buffer((int) Math.min(zip.length * 3L, 1 << 26));
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip), StandardCharsets.ISO_8859_1)) {
            ZipEntry e;
            boolean any = false;
            while ((e = in.getNextEntry()) != null) {
                any = true;
                if (e.isDirectory()) continue;
                // the local header often knows the size: one buffer of the right size, no regrowth
                if (e.getSize() > 0 && e.getSize() <= maxInflated - out.size) ensure(out, (int) Math.min(out.size + e.getSize() + 1, Integer.MAX_VALUE - 16));
                copy(in, out, "jam.unzip");
            }
            if (!any) throw ScriptRuntime.constructError("Error", "jam.unzip: not a zip archive (no entries)");
        } catch (IOException e) {
            throw ScriptRuntime.constructError("Error", "jam.unzip: bad zip archive: " + e.getMessage());
        }
        return out;
    }

    Buffer gunzip(byte[] gz) {
        Buffer out = new Buffer((int) Math.min(gz.length * 3L, 1 << 26));
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz), 64 * 1024)) {
            copy(in, out, "jam.gunzip");
        } catch (IOException e) {
            throw ScriptRuntime.constructError("Error", "jam.gunzip: bad gzip data: " + e.getMessage());
        }
        return out;
    }

    private static void ensure(Buffer b, int capacity) {
        if (capacity > b.bytes.length) b.bytes = Arrays.copyOf(b.bytes, capacity);
    }

    /** Inflates straight into the buffer, growing it by half at a time, within the limit. */
    private void copy(InputStream in, Buffer out, String fn) throws IOException {
        while (true) {
            if (out.size == out.bytes.length) {
                long grown = Math.min(Math.max(out.bytes.length + (out.bytes.length >> 1), 1024L), maxInflated + 1);
                if (grown <= out.size) {
                    throw ScriptRuntime.constructError("RangeError", fn + ": the archive inflates past the limit of " + maxInflated + " bytes");
                }
                ensure(out, (int) Math.min(grown, Integer.MAX_VALUE - 16));
            }
            int n = in.read(out.bytes, out.size, out.bytes.length - out.size);
            if (n < 0) return;
            if (out.size + (long) n > maxInflated) {
                throw ScriptRuntime.constructError("RangeError", fn + ": the archive inflates past the limit of " + maxInflated + " bytes");
            }
            out.size += n;
        }
    }
}
