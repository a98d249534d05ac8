package dev.andromeda.fibril.modules;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
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
        modules.function(cx, textProto, "split", 0, (f, c, thisObj, args) -> words(c, text(thisObj, "split")));
        modules.function(cx, textProto, "text", 0, (f, c, thisObj, args) -> text(thisObj, "text"));
        modules.function(cx, textProto, "toString", 0, (f, c, thisObj, args) -> text(thisObj, "toString"));
        textProto.sealObject();

        object = modules.module(cx);
        modules.function(cx, object, "unzip", 1, (f, c, thisObj, args) -> text(unzip(bytes(args, "jam.unzip"))));
        modules.function(cx, object, "gunzip", 1, (f, c, thisObj, args) -> text(gunzip(bytes(args, "jam.gunzip"))));
        modules.function(cx, object, "words", 1, (f, c, thisObj, args) -> words(c, anyText(args, "jam.words")));
        modules.function(cx, object, "count", 1, (f, c, thisObj, args) -> {
            Scriptable out = modules.newObject(c);
            for (Map.Entry<String, Long> e : Words.count(anyText(args, "jam.count")).entrySet()) {
                out.put(e.getKey(), out, e.getValue().doubleValue());
            }
            return out;
        });
        object.sealObject();
    }

    ScriptableObject object() { return object; }
    ScriptableObject textProto() { return textProto; }

    private TextObject text(String s) {
        TextObject t = new TextObject(s);
        t.setPrototype(textProto);
        t.setParentScope(shared);
        t.sealObject();
        return t;
    }

    private Object words(Context cx, String text) {
        List<String> words = Words.split(text);
        return cx.newArray(shared, words.toArray());
    }

    private static String text(Scriptable thisObj, String method) {
        if (thisObj instanceof TextObject t) return t.text();
        throw ScriptRuntime.typeError(method + "() must be called on a Text (from jam.unzip or jam.gunzip)");
    }

    private static byte[] bytes(Object[] args, String fn) {
        Object v = Args.at(args, 0);
        if (v instanceof BytesObject b) return b.bytes();
        if (v instanceof CharSequence s) return s.toString().getBytes(StandardCharsets.ISO_8859_1);
        throw ScriptRuntime.typeError(fn + " needs bytes, e.g. res.content()");
    }

    private static String anyText(Object[] args, String fn) {
        Object v = Args.at(args, 0);
        if (v instanceof TextObject t) return t.text();
        if (v instanceof CharSequence s) return s.toString();
        if (v instanceof BytesObject b) return new String(b.bytes(), StandardCharsets.ISO_8859_1);
        throw ScriptRuntime.typeError(fn + " needs a text, a string or bytes");
    }

    /** Every entry's bytes, in archive order, back to back (as {@code unzip -p} prints them). */
    String unzip(byte[] zip) {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(zip.length * 3L, 1 << 26));
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip), StandardCharsets.ISO_8859_1)) {
            ZipEntry e;
            boolean any = false;
            while ((e = in.getNextEntry()) != null) {
                any = true;
                if (!e.isDirectory()) copy(in, out, "jam.unzip");
            }
            if (!any) throw ScriptRuntime.constructError("Error", "jam.unzip: not a zip archive (no entries)");
        } catch (IOException e) {
            throw ScriptRuntime.constructError("Error", "jam.unzip: bad zip archive: " + e.getMessage());
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    String gunzip(byte[] gz) {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(gz.length * 3L, 1 << 26));
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            copy(in, out, "jam.gunzip");
        } catch (IOException e) {
            throw ScriptRuntime.constructError("Error", "jam.gunzip: bad gzip data: " + e.getMessage());
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    private void copy(InputStream in, ByteArrayOutputStream out, String fn) throws IOException {
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) > 0) {
            if (out.size() + (long) n > maxInflated) {
                throw ScriptRuntime.constructError("RangeError", fn + ": the archive inflates past the limit of " + maxInflated + " bytes");
            }
            out.write(buf, 0, n);
        }
    }
}
