package dev.andromeda.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A plain HTTP/1.1 client on one kept-alive connection, as curl or a load generator talks to a
 * server: the request written in one go, the response read on the calling thread, as JDBC reads
 * its answers. Measured beside HttpURLConnection (which parses the URL into a URI and a URL and
 * checks every header per request) on the store's query, the client's own work fell from ~40 µs
 * to a few µs a request; java.net.http, which hands every exchange to its selector thread, cost
 * more than the store's whole answer on this 2-core machine. The server may close the connection
 * after a number of requests (Tomcat's keep-alive limit): the next request opens a new one, as
 * any client does.
 */
final class KeepAliveHttp implements AutoCloseable {

    record Response(int status, Map<String, String> headers, byte[] body) {
        String header(String name) { return headers.get(name.toLowerCase(Locale.ROOT)); }
    }

    private final String host;
    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    KeepAliveHttp(String baseUrl) {
        URI u = URI.create(baseUrl);
        this.host = u.getHost();
        this.port = u.getPort();
    }

    /** A GET of {@code pathAndQuery} with the given header lines ("Name: value"). */
    Response get(String pathAndQuery, String... headers) throws IOException {
        return send("GET", pathAndQuery, null, headers);
    }

    /** A POST of a JSON body, written with its headers in one go. */
    Response post(String path, byte[] json, String... headers) throws IOException {
        return send("POST", path, json, "application/json", headers);
    }

    /** A POST of a body of the given media type (NDJSON, say), written with its headers in one go. */
    Response postAs(String path, String contentType, byte[] body, String... headers) throws IOException {
        return send("POST", path, body, contentType, headers);
    }

    private Response send(String method, String pathAndQuery, byte[] body, String... headers) throws IOException {
        return send(method, pathAndQuery, body, "application/json", headers);
    }

    private Response send(String method, String pathAndQuery, byte[] body, String contentType, String... headers) throws IOException {
        StringBuilder req = new StringBuilder(256).append(method).append(' ').append(pathAndQuery).append(" HTTP/1.1\r\nHost: ")
                .append(host).append(':').append(port).append("\r\n");
        for (String h : headers) req.append(h).append("\r\n");
        if (body != null) req.append("Content-Type: ").append(contentType).append("\r\nContent-Length: ").append(body.length).append("\r\n");
        byte[] head = req.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
        boolean fresh = socket == null;
        try {
            return exchange(head, body);
        } catch (IOException e) {
            close();
            if (fresh) throw e;
            return exchange(head, body); // the server closed a kept connection between requests: once more on a new one
        }
    }

    private Response exchange(byte[] request, byte[] body) throws IOException {
        if (socket == null) {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port));
            in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            out = socket.getOutputStream();
        }
        out.write(request);
        if (body != null) out.write(body);
        out.flush();
        String status = line();
        if (status == null) throw new EOFException("the server closed the connection");
        int code = Integer.parseInt(status.substring(9, 12));
        Map<String, String> headers = new HashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int colon = l.indexOf(':');
            headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
        }
        byte[] answer;
        String length = headers.get("content-length");
        if (length != null) {
            answer = in.readNBytes(Integer.parseInt(length));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int n; (n = Integer.parseInt(line().split(";")[0].trim(), 16)) > 0; line()) b.write(in.readNBytes(n));
            while (!line().isEmpty()) { } // trailers
            answer = b.toByteArray();
        } else {
            answer = in.readAllBytes();
            headers.put("connection", "close");
        }
        if ("close".equalsIgnoreCase(headers.get("connection"))) close();
        return new Response(code, headers, answer);
    }

    /**
     * A GET whose answer is a stream (NDJSON, Server-Sent Events): its body as it comes, chunks
     * decoded, read by the caller as far as it wants. The connection is the stream's from then on;
     * {@link #close()} ends both.
     */
    InputStream stream(String pathAndQuery, String... headers) throws IOException {
        close();
        StringBuilder req = new StringBuilder(256).append("GET ").append(pathAndQuery).append(" HTTP/1.1\r\nHost: ")
                .append(host).append(':').append(port).append("\r\n");
        for (String h : headers) req.append(h).append("\r\n");
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(host, port));
        in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
        out = socket.getOutputStream();
        out.write(req.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        String status = line();
        if (status == null) throw new EOFException("the server closed the connection");
        Map<String, String> head = new HashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int colon = l.indexOf(':');
            head.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
        }
        int code = Integer.parseInt(status.substring(9, 12));
        if (code != 200) throw new IOException("stream " + pathAndQuery + ": " + status);
        if (!"chunked".equalsIgnoreCase(head.get("transfer-encoding"))) return in;
        return new InputStream() {
            private int left; // bytes left in the current chunk
            private boolean end;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (end) return -1;
                if (left == 0) {
                    String size = line();
                    if (size != null && size.isEmpty()) size = line(); // the CRLF that ends the chunk before
                    if (size == null) return -1;
                    left = Integer.parseInt(size.split(";")[0].trim(), 16);
                    if (left == 0) {
                        end = true;
                        return -1;
                    }
                }
                int n = in.read(b, off, Math.min(len, left));
                if (n < 0) return -1;
                left -= n;
                return n;
            }
        };
    }

    /** One header line (ISO-8859-1, without its CRLF), or null at the end of the stream. */
    private String line() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        for (int c; (c = in.read()) >= 0; ) {
            if (c == '\n') {
                int n = sb.length();
                if (n > 0 && sb.charAt(n - 1) == '\r') sb.setLength(n - 1);
                return sb.toString();
            }
            sb.append((char) c);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        socket = null;
    }
}
