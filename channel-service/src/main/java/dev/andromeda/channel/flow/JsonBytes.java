package dev.andromeda.channel.flow;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import tools.jackson.core.SerializableString;
import tools.jackson.core.io.SerializedString;

/**
 * A message's JSON text as it came from Kafka (UTF-8, checked when it was sent), written into an
 * answer byte for byte: a UTF-8 generator copies it into its buffer, so a receive does not decode
 * every message to a String and encode it again. Only a generator writing chars (or asking for
 * a quoted form, which a raw value never does) gets the text, made once.
 */
public final class JsonBytes implements SerializableString {

    private final byte[] utf8;
    private SerializedString text;

    JsonBytes(byte[] utf8) {
        this.utf8 = utf8;
    }

    private SerializedString text() {
        if (text == null) text = new SerializedString(new String(utf8, StandardCharsets.UTF_8));
        return text;
    }

    @Override public byte[] asUnquotedUTF8() { return utf8; }

    @Override
    public int appendUnquotedUTF8(byte[] buffer, int offset) {
        if (offset + utf8.length > buffer.length) return -1;
        System.arraycopy(utf8, 0, buffer, offset, utf8.length);
        return utf8.length;
    }

    @Override
    public int writeUnquotedUTF8(OutputStream out) throws IOException {
        out.write(utf8);
        return utf8.length;
    }

    @Override
    public int putUnquotedUTF8(ByteBuffer buffer) {
        if (utf8.length > buffer.remaining()) return -1;
        buffer.put(utf8);
        return utf8.length;
    }

    @Override public String getValue() { return text().getValue(); }
    @Override public int charLength() { return text().charLength(); }
    @Override public char[] asQuotedChars() { return text().asQuotedChars(); }
    @Override public byte[] asQuotedUTF8() { return text().asQuotedUTF8(); }
    @Override public int appendQuotedUTF8(byte[] buffer, int offset) { return text().appendQuotedUTF8(buffer, offset); }
    @Override public int appendQuoted(char[] buffer, int offset) { return text().appendQuoted(buffer, offset); }
    @Override public int appendUnquoted(char[] buffer, int offset) { return text().appendUnquoted(buffer, offset); }
    @Override public int writeQuotedUTF8(OutputStream out) throws IOException { return text().writeQuotedUTF8(out); }
    @Override public int putQuotedUTF8(ByteBuffer buffer) throws IOException { return text().putQuotedUTF8(buffer); }
    @Override public String toString() { return getValue(); }
}
