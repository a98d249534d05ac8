package dev.andromeda.store.query;

import java.io.OutputStream;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import tools.jackson.databind.json.JsonMapper;

/**
 * Query rows as the API's JSON objects ({@code {"key","attrs","labels","version","modified"}}),
 * written from the bytes PostgreSQL sent: attrs and labels are its own JSON text, the key its
 * UTF-8 text, escaped here. Measured (JFR) on pages of 100 rows: writing each row's key and time
 * through Jackson (a generator and a serializer lookup per value) and re-encoding the decoded
 * columns was 17% of the request thread's samples; this writes each byte once (5% at 1,000 rows).
 * The output is what Jackson writes for a {@code StoredObject} (a test compares them).
 */
public final class RowJson extends OutputStream {

    private static final byte[] KEY = ascii("{\"key\":\"");
    private static final byte[] ATTRS = ascii("\",\"attrs\":");
    private static final byte[] LABELS = ascii(",\"labels\":");
    private static final byte[] VERSION = ascii(",\"version\":");
    private static final byte[] MODIFIED = ascii(",\"modified\":");
    private static final byte[] HEX = ascii("0123456789abcdef");

    private byte[] buf;
    private int size;

    /** A buffer: a page is built whole, so its length can go into Content-Length. */
    public RowJson(int initial) {
        buf = new byte[initial];
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    public byte[] array() { return buf; }

    public void reset() { size = 0; }

    public int size() { return size; }

    private void room(int n) {
        if (size + n > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + n));
    }

    @Override
    public void write(int b) {
        room(1);
        buf[size++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
        room(len);
        System.arraycopy(b, off, buf, size, len);
        size += len;
    }

    @Override
    public void write(byte[] b) {
        write(b, 0, b.length);
    }

    /** One object, from a row's columns as sent (UTF-8 key text, JSON text of attrs and labels). */
    public void row(byte[] key, byte[] attrs, byte[] labels, long version, OffsetDateTime modified, JsonMapper json) {
        write(KEY);
        stringBody(key);
        write(ATTRS);
        write(attrs);
        write(LABELS);
        write(labels);
        write(VERSION);
        number(version);
        write(MODIFIED);
        time(modified, json);
        write('}');
    }

    /**
     * The inside of a JSON string from UTF-8 bytes: quote, backslash and control characters escaped
     * as Jackson does (short forms where JSON has them, else backslash-u and four hex digits);
     * every byte of a multi-byte character is 0x80 or above, so it passes as it is.
     */
    void stringBody(byte[] utf8) {
        int start = 0;
        for (int i = 0; i < utf8.length; i++) {
            int b = utf8[i] & 0xff;
            if (b >= 0x20 && b != '"' && b != '\\') continue;
            write(utf8, start, i - start);
            start = i + 1;
            write('\\');
            switch (b) {
                case '"', '\\' -> write(b);
                case '\n' -> write('n');
                case '\r' -> write('r');
                case '\t' -> write('t');
                case '\b' -> write('b');
                case '\f' -> write('f');
                default -> {
                    write('u');
                    write('0');
                    write('0');
                    write(HEX[b >> 4]);
                    write(HEX[b & 0xf]);
                }
            }
        }
        write(utf8, start, utf8.length - start);
    }

    private void number(long v) {
        if (v >= 0 && v < 10) {
            write('0' + (int) v);
            return;
        }
        write(ascii(Long.toString(v)));
    }

    /**
     * A time as Jackson writes an OffsetDateTime (ISO_OFFSET_DATE_TIME): seconds always, the
     * fraction without trailing zeros and only when there is one, Z for UTC. The database answers
     * in UTC; any other offset or a year outside 0000-9999 goes through Jackson itself.
     */
    void time(OffsetDateTime t, JsonMapper json) {
        int year = t.getYear();
        if (!t.getOffset().equals(ZoneOffset.UTC) || year < 0 || year > 9999) {
            write(json.writeValueAsBytes(t));
            return;
        }
        room(32);
        byte[] b = buf;
        int p = size;
        b[p++] = '"';
        p = digits(b, p, year, 4);
        b[p++] = '-';
        p = digits(b, p, t.getMonthValue(), 2);
        b[p++] = '-';
        p = digits(b, p, t.getDayOfMonth(), 2);
        b[p++] = 'T';
        p = digits(b, p, t.getHour(), 2);
        b[p++] = ':';
        p = digits(b, p, t.getMinute(), 2);
        b[p++] = ':';
        p = digits(b, p, t.getSecond(), 2);
        int nano = t.getNano();
        if (nano != 0) {
            int width = 9;
            while (nano % 10 == 0) {
                nano /= 10;
                width--;
            }
            b[p++] = '.';
            p = digits(b, p, nano, width);
        }
        b[p++] = 'Z';
        b[p++] = '"';
        size = p;
    }

    private static int digits(byte[] b, int p, int v, int width) {
        for (int i = p + width - 1; i >= p; i--) {
            b[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        return p + width;
    }
}
