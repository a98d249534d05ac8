package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code http}: {@code http.req(url)} GETs a page (redirects followed, http and https only, the
 * body capped, never to an address in {@code m31.fibril.http-deny}: see {@link Egress}) while the fibril is parked, and gives a response: status, contentType (the media
 * type alone, lower case), url (after redirects), content() (opaque bytes, for jam), text(),
 * json(), urls() (the page's links, absolute).
 */
final class HttpModule {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    /** What came back. */
    record Fetched(int status, String contentType, String charset, String url, byte[] body) implements java.io.Serializable {}

    private final ScriptableObject object;
    private final ScriptableObject responseProto;
    private final Scriptable shared;
    private final long maxBytes;
    private final JsonMapper json = JsonMapper.builder().build();
    /** Redirects are followed here, hop by hop, so that each hop's address is checked. */
    private final HttpClient client = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private static final int MAX_REDIRECTS = 5;
    private final Egress egress;

    HttpModule(Modules modules, Context cx, Scriptable shared) {
        this.shared = shared;
        this.maxBytes = modules.nucleus().settings().getMaxHttpBytes();
        this.egress = new Egress(modules.nucleus().settings().getHttpDeny());

        responseProto = modules.module(cx);
        modules.function(cx, responseProto, "content", 0, (f, c, thisObj, args) -> {
            BytesObject b = new BytesObject(fetched(thisObj, "content").body());
            b.setParentScope(shared);
            b.setPrototype(ScriptableObject.getObjectPrototype(shared));
            b.sealObject();
            return b;
        });
        modules.function(cx, responseProto, "text", 0, (f, c, thisObj, args) -> text(fetched(thisObj, "text")));
        modules.function(cx, responseProto, "json", 0, (f, c, thisObj, args) -> {
            Fetched r = fetched(thisObj, "json");
            try {
                return JsJson.toJs(c, shared, json.readTree(r.body()), null);
            } catch (RuntimeException e) {
                throw ScriptRuntime.constructError("SyntaxError", "the body of " + r.url() + " is not JSON");
            }
        });
        modules.function(cx, responseProto, "urls", 0, (f, c, thisObj, args) -> {
            Fetched r = fetched(thisObj, "urls");
            return c.newArray(shared, Html.links(text(r), r.url()).toArray());
        });
        responseProto.sealObject();

        object = modules.module(cx);
        modules.suspending(cx, object, "req", 1, (f, c, thisObj, args) -> {
            URI uri = checkUrl(Args.string(args, 0, "http.req(url): url"));
            throw f.suspend(c, "http.req " + uri, () -> fetch(uri), (c2, scope, v) -> response((Fetched) v));
        });
        object.sealObject();
    }

    ScriptableObject object() { return object; }
    ScriptableObject responseProto() { return responseProto; }

    private static URI checkUrl(String url) {
        URI uri;
        try {
            uri = URI.create(url.strip());
        } catch (IllegalArgumentException e) {
            throw ScriptRuntime.typeError("http.req: '" + url + "' is not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            throw ScriptRuntime.typeError("http.req: only absolute http and https URLs, not '" + url + "'");
        }
        return uri;
    }

    CompletableFuture<Fetched> fetch(URI uri) {
        return fetch(uri, 0);
    }

    /** GETs {@code uri}, following redirects here, hop by hop, each hop's address checked first. */
    private CompletableFuture<Fetched> fetch(URI uri, int hops) {
        // the host is looked up (and its addresses checked) off the carrier threads
        return CompletableFuture.runAsync(() -> egress.check(uri), LOOKUPS).thenCompose(v -> send(uri)).thenCompose(resp -> {
            int status = resp.statusCode();
            var location = resp.headers().firstValue("location");
            if (status >= 300 && status < 400 && status != 304 && location.isPresent() && hops < MAX_REDIRECTS) {
                URI next;
                try {
                    next = checkUrl(uri.resolve(location.get().strip()).toString());
                } catch (RuntimeException e) {
                    return CompletableFuture.failedFuture(new IllegalStateException(
                            "redirected to '" + location.get() + "', not an http or https URL"));
                }
                return fetch(next, hops + 1);
            }
            return CompletableFuture.completedFuture(fetched(resp));
        });
    }

    private static final java.util.concurrent.Executor LOOKUPS = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    private CompletableFuture<HttpResponse<byte[]>> send(URI uri) {
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET()
                .header("User-Agent", "Andromeda-M31-fibril").build();
        return client.sendAsync(req, info -> new Capped(maxBytes, info.headers().firstValueAsLong("content-length").orElse(-1)));
    }

    private static Fetched fetched(HttpResponse<byte[]> resp) {
        String ct = resp.headers().firstValue("content-type").orElse("");
        String media = ct.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        String charset = null;
        for (String part : ct.split(";")) {
            String p = part.strip();
            if (p.toLowerCase(Locale.ROOT).startsWith("charset=")) charset = p.substring(8).replace("\"", "").strip();
        }
        return new Fetched(resp.statusCode(), media.isEmpty() ? null : media, charset, resp.uri().toString(), resp.body());
    }

    private Scriptable response(Fetched r) {
        ResponseObject o = new ResponseObject(r);
        o.setPrototype(responseProto);
        o.setParentScope(shared);
        o.sealObject();
        return o;
    }

    private static Fetched fetched(Scriptable thisObj, String method) {
        if (thisObj instanceof ResponseObject r) return r.fetched;
        throw ScriptRuntime.typeError(method + "() must be called on an http.req response");
    }

    private static String text(Fetched r) {
        Charset cs = StandardCharsets.UTF_8;
        if (r.charset() != null) {
            try {
                cs = Charset.forName(r.charset());
            } catch (RuntimeException unknown) {
                // an unknown charset reads as UTF-8
            }
        }
        return new String(r.body(), cs);
    }

    /** A response as scripts see it. */
    static final class ResponseObject extends ScriptableObject {
        final Fetched fetched;

        ResponseObject(Fetched fetched) { this.fetched = fetched; }

        @Override public String getClassName() { return "Response"; }

        @Override
        public Object get(String name, Scriptable start) {
            return switch (name) {
                case "status" -> (double) fetched.status();
                case "contentType" -> fetched.contentType();
                case "url" -> fetched.url();
                case "length" -> (double) fetched.body().length;
                default -> super.get(name, start);
            };
        }

        @Override
        public boolean has(String name, Scriptable start) {
            return switch (name) {
                case "status", "contentType", "url", "length" -> true;
                default -> super.has(name, start);
            };
        }

        @Override public Object[] getIds() { return new Object[] {"status", "contentType", "url", "length"}; }
    }

    /** Collects a body up to a cap; past it, the download is cancelled and fails. */
    private static final class Capped implements HttpResponse.BodySubscriber<byte[]> {
        private final long max;
        private final long declared;
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private final List<ByteBuffer> parts = new ArrayList<>();
        private long size;
        private Flow.Subscription subscription;

        Capped(long max, long declared) {
            this.max = max;
            this.declared = declared;
        }

        @Override public CompletionStage<byte[]> getBody() { return body; }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (declared > max) {
                s.cancel();
                body.completeExceptionally(tooLarge());
            } else {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            for (ByteBuffer b : items) {
                size += b.remaining();
                parts.add(b);
            }
            if (size > max) {
                subscription.cancel();
                parts.clear();
                body.completeExceptionally(tooLarge());
            }
        }

        @Override public void onError(Throwable t) { body.completeExceptionally(t); }

        @Override
        public void onComplete() {
            if (body.isDone()) return;
            byte[] out = new byte[(int) size];
            int at = 0;
            for (ByteBuffer b : parts) {
                int n = b.remaining();
                b.get(out, at, n);
                at += n;
            }
            parts.clear();
            body.complete(out);
        }

        private IllegalStateException tooLarge() {
            return new IllegalStateException("the body is larger than the limit of " + max + " bytes");
        }
    }
}
