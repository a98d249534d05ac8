package dev.andromeda.store.web;

import dev.andromeda.api.StoreApi;
import dev.andromeda.api.model.Branch;
import dev.andromeda.api.model.BranchSpec;
import dev.andromeda.api.model.InvokeBatch;
import dev.andromeda.api.model.InvokeResult;
import dev.andromeda.api.model.LabelPatch;
import dev.andromeda.api.model.ObjectInvoke;
import dev.andromeda.api.model.ObjectWrite;
import dev.andromeda.api.model.Space;
import dev.andromeda.api.model.SpaceList;
import dev.andromeda.api.model.SpaceSpec;
import dev.andromeda.api.model.StoredObject;
import dev.andromeda.api.model.VersionList;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Access;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.Callers;
import dev.andromeda.store.feed.ChangeFeed;
import dev.andromeda.store.invoke.Invoker;
import dev.andromeda.store.objects.ObjectStore;
import dev.andromeda.store.query.Cursors;
import dev.andromeda.store.query.SpaceQuery;
import dev.andromeda.store.space.SpaceCatalog;
import dev.andromeda.store.space.SpaceType;
import dev.andromeda.store.versions.VersionStore;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/** /fs: spaces (mkdir, ls, rm), objects, labels, queries, invocations, versions, branches, the change feed. */
@RestController
class StoreController implements StoreApi {

    private static final Logger log = LoggerFactory.getLogger(StoreController.class);
    static final String NDJSON = "application/x-ndjson";
    static final String CURSOR_HEADER = "M31-Cursor";

    private final SpaceCatalog spaces;
    private final ObjectStore objects;
    private final Invoker invoker;
    private final VersionStore versions;
    private final ChangeFeed feed;
    private final Cursors cursors;
    private final JsonMapper json;
    private final HttpServletRequest request; // a proxy to the current request
    private final ObjectReads reads;

    StoreController(SpaceCatalog spaces, ObjectStore objects, Invoker invoker, VersionStore versions, ChangeFeed feed,
                    Cursors cursors, JsonMapper json, HttpServletRequest request, ObjectReads reads) {
        this.reads = reads;
        this.spaces = spaces;
        this.objects = objects;
        this.invoker = invoker;
        this.versions = versions;
        this.feed = feed;
        this.cursors = cursors;
        this.json = json;
        this.request = request;
    }

    private static String etag(long version) {
        return ObjectReads.etag(version);
    }

    /** The verified caller (null when the service runs without m31.internal.key: nothing to check). */
    private Caller caller() {
        return Callers.of(request);
    }

    private static String what(String space) {
        return "space " + space;
    }

    /** The space, if the caller may read it (401 for the anonymous caller, else 403). */
    private SpaceType readable(String space) {
        return readable(spaces, request, space);
    }

    static SpaceType readable(SpaceCatalog spaces, HttpServletRequest request, String space) {
        SpaceType t = spaces.require(space);
        t.access().requireRead(Callers.of(request), what(space));
        return t;
    }

    private SpaceType writable(String space) {
        SpaceType t = spaces.require(space);
        t.access().requireWrite(caller(), what(space));
        return t;
    }

    /** A write that also sets labels: naming an access label needs the owner. */
    private SpaceType writable(String space, java.util.Collection<String> labelsNamed) {
        SpaceType t = spaces.require(space);
        t.access().requireLabelChange(caller(), labelsNamed, what(space));
        return t;
    }

    private static String uri(String space, String key) {
        return "/fs/" + space + "/" + URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public ResponseEntity<SpaceList> listSpaces(String key) {
        SpaceList l = new SpaceList();
        Caller c = caller();
        l.setSpaces(spaces.list(key).stream().filter(t -> t.access().canRead(c)).map(spaces::view).toList());
        return ResponseEntity.ok(l);
    }

    @Override
    public ResponseEntity<Space> makeSpace(String space, SpaceSpec spec) {
        Caller c = caller();
        if (c != null && c.isAnonymous()) throw new M31Problem(401, "unauthorized", "a token is required to make a space", null);
        SpaceType want = spaces.validate(space, spec);
        SpaceCatalog.Made made = spaces.make(want.withLabels(Access.ownedBy(c, want.labels())), c);
        Space view = spaces.view(made.type());
        return made.created()
                ? ResponseEntity.created(URI.create("/fs/" + space)).body(view)
                : ResponseEntity.ok(view);
    }

    @Override
    public ResponseEntity<Void> removeSpace(String space) {
        spaces.require(space).access().requireAdminister(caller(), what(space));
        if (!spaces.remove(space)) {
            throw M31Problem.noSpace(space);
        }
        return ResponseEntity.noContent().build();
    }

    /** GET /fs/{space}?meta: the space itself (ls -ld). */
    @GetMapping(path = StoreApi.PATH_QUERY_SPACE, params = "meta", produces = "application/json")
    public ResponseEntity<Space> describeSpace(@PathVariable("space") String space) {
        return ResponseEntity.ok(spaces.view(readable(space)));
    }

    @Override
    public ResponseEntity<Space> patchSpaceLabels(String space, LabelPatch patch) {
        SpaceType t = spaces.require(space);
        t.access().requireLabelChange(caller(), ObjectStore.touched(patch), what(space));
        ObjectStore.LabelChange change = ObjectStore.check(patch);
        return ResponseEntity.ok(spaces.view(spaces.patchLabels(t, change.set(), change.remove())));
    }

    @Override
    public ResponseEntity<List<StoredObject>> querySpace(String space, String fmt, String sort, Integer limit) {
        if (fmt != null && !fmt.equals("JSON")) {
            throw M31Problem.badRequest("fmt", "fmt is JSON, NDJSON or CSV");
        }
        SpaceType t = readable(space);
        String cursor = request.getParameter("cursor");
        SpaceQuery q = SpaceQuery.build(t, request.getParameterMap(), sort, request.getParameter("limit"), cursor, cursors, json, false);
        ObjectStore.Page page = objects.query(t, q, cursors);
        ResponseEntity.BodyBuilder ok = ResponseEntity.ok();
        if (page.next() != null) {
            ok.header(CURSOR_HEADER, page.next());
            ok.header("Link", "<" + nextLink(space, page.next()) + ">; rel=\"next\"");
        }
        return ok.body(page.objects());
    }

    private String nextLink(String space, String next) {
        return nextLink(request, space, next);
    }

    /** This request's URI with the cursor of the next page in place of its own. */
    static String nextLink(HttpServletRequest request, String space, String next) {
        StringBuilder sb = new StringBuilder("/fs/").append(space);
        char sep = '?';
        for (Map.Entry<String, String[]> e : request.getParameterMap().entrySet()) {
            if (e.getKey().equals("cursor")) continue;
            for (String v : e.getValue()) {
                sb.append(sep).append(enc(e.getKey())).append('=').append(enc(v));
                sep = '&';
            }
        }
        return sb.append(sep).append("cursor=").append(enc(next)).toString();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** fmt=NDJSON: one object per line, written as the rows come from a database cursor. */
    @GetMapping(path = StoreApi.PATH_QUERY_SPACE, params = {"fmt=NDJSON", "!watch", "!meta"})
    public void queryNdjson(@PathVariable("space") String space, @RequestParam(value = "sort", required = false) String sort,
                            @RequestParam(value = "limit", required = false) String limit,
                            HttpServletRequest req, HttpServletResponse resp) throws IOException {
        streamed(space, sort, limit, req, resp, false);
    }

    /** fmt=CSV: a header line, then one line per object, streamed like NDJSON. */
    @GetMapping(path = StoreApi.PATH_QUERY_SPACE, params = {"fmt=CSV", "!watch", "!meta"})
    public void queryCsv(@PathVariable("space") String space, @RequestParam(value = "sort", required = false) String sort,
                         @RequestParam(value = "limit", required = false) String limit,
                         HttpServletRequest req, HttpServletResponse resp) throws IOException {
        streamed(space, sort, limit, req, resp, true);
    }

    private void streamed(String space, String sort, String limit, HttpServletRequest req, HttpServletResponse resp, boolean csv)
            throws IOException {
        SpaceType t = readable(space);
        // 4xx before any byte is sent
        SpaceQuery q = SpaceQuery.build(t, req.getParameterMap(), sort, limit, req.getParameter("cursor"), cursors, json, true);
        OutputStream out = new BufferedOutputStream(resp.getOutputStream(), 64 * 1024);
        try {
            objects.stream(t, q, cursors, csv, out, next -> {
                resp.setStatus(HttpStatus.OK.value());
                resp.setContentType(csv ? "text/csv" : NDJSON);
                resp.setCharacterEncoding("UTF-8");
                if (next != null) {
                    resp.setHeader(CURSOR_HEADER, next);
                    resp.setHeader("Link", "<" + nextLink(space, next) + ">; rel=\"next\"");
                }
            });
            out.flush();
        } catch (UncheckedIOException e) {
            log.debug("streamed query on {} stopped: client gone ({})", space, e.getMessage());
        }
    }

    /** watch=true: the change feed, kept open (see {@link ChangeFeed}). */
    @GetMapping(path = StoreApi.PATH_QUERY_SPACE, params = {"watch=true", "!meta"})
    public void watch(@PathVariable("space") String space, @RequestParam(value = "since", required = false) String since,
                      @RequestParam(value = "after", required = false) String after, HttpServletResponse resp) throws IOException {
        SpaceType t = readable(space);
        Long afterSeq = null;
        if (after != null) {
            try {
                afterSeq = Long.parseLong(after.trim());
            } catch (NumberFormatException e) {
                throw M31Problem.badRequest("after", "after is the seq of a change");
            }
        }
        ChangeFeed.Start start = new ChangeFeed.Start(afterSeq, since == null ? null : SpaceQuery.when("since", since));
        OutputStream out = new BufferedOutputStream(resp.getOutputStream(), 16 * 1024);
        try {
            feed.watch(t, start, out, () -> {
                resp.setStatus(HttpStatus.OK.value());
                resp.setContentType(NDJSON);
                resp.setCharacterEncoding("UTF-8");
                try {
                    resp.flushBuffer(); // the headers now: a watcher knows it is connected before the first change
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            log.debug("watch of {} ended: client gone ({})", space, e.getMessage());
        }
    }

    /**
     * The generated binding of a batch (used only if the streaming handler below is not chosen):
     * every invocation becomes an object and is validated reflectively, twice.
     */
    @Override
    public ResponseEntity<InvokeResult> invokeBatch(String space, InvokeBatch batch, String branch) {
        SpaceType t = writable(space);
        Invoker.Parsed b = invoker.combine(t, batch);
        return ResponseEntity.ok(branch == null ? invoker.apply(b.combiner(), b.batchId()) : versions.invokeBatch(t, branch, b.combiner(), b.batchId()));
    }

    /**
     * The hot path of {@code fs.invoke}: the batch is parsed as a stream straight into the
     * per-key combination, with the same checks, instead of being bound to one object per
     * invocation and validated reflectively (measured: that binding cost ~6x the upsert itself).
     * The params condition says nothing about the request; it only makes this mapping more
     * specific than the generated one, so Spring picks it.
     */
    @PostMapping(path = StoreApi.PATH_INVOKE_BATCH, params = "!" + UNUSED_PARAM,
            consumes = "application/json", produces = "application/json")
    public ResponseEntity<InvokeResult> invokeStreamed(@PathVariable("space") String space,
                                                       @RequestParam(value = "branch", required = false) String branch,
                                                       HttpServletRequest req) throws IOException {
        SpaceType t = writable(space);
        try (var in = req.getInputStream()) {
            if (branch == null) return ResponseEntity.ok(invoker.apply(t, in));
            Invoker.Parsed b = invoker.read(t, in);
            return ResponseEntity.ok(versions.invokeBatch(t, branch, b.combiner(), b.batchId()));
        }
    }

    /** Never sent by clients: see {@link #invokeStreamed}. */
    static final String UNUSED_PARAM = "m31.generated-binding";

    @Override
    public ResponseEntity<StoredObject> invokeObject(String space, String key, ObjectInvoke body, String branch) {
        SpaceType t = writable(space);
        StoredObject o = branch == null ? invoker.applyOne(t, key, body, objects)
                : versions.invoke(t, key, branch, invoker.combineOne(t, key, body), Invoker.batchIdOf(body));
        return ResponseEntity.ok().eTag(etag(o.getVersion())).body(o);
    }

    @Override
    public ResponseEntity<StoredObject> putObject(String space, String key, ObjectWrite body, String ifMatch, String ifNoneMatch,
                                                  String branch) {
        SpaceType t = writable(space, body.getLabels() == null ? List.of() : body.getLabels().keySet());
        if (branch != null) {
            if (ifNoneMatch != null) throw M31Problem.badRequest("If-None-Match", "a branch write changes an existing branch");
            StoredObject o = versions.put(t, key, branch, body, ObjectStore.Condition.version(ifMatch));
            return ResponseEntity.ok().eTag(etag(o.getVersion())).body(o);
        }
        ObjectStore.Written w = objects.put(t, key, body, ObjectStore.Condition.of(ifMatch, ifNoneMatch));
        String tag = etag(w.object().getVersion());
        return w.created()
                ? ResponseEntity.created(URI.create(uri(space, key))).eTag(tag).body(w.object())
                : ResponseEntity.ok().eTag(tag).body(w.object());
    }

    @Override
    public ResponseEntity<StoredObject> getObject(String space, String key, Long version, String branch) {
        StoredObject o = reads.read(space, key, version, branch, caller());
        return ResponseEntity.ok().eTag(etag(o.getVersion())).body(o);
    }

    @Override
    public ResponseEntity<Void> deleteObject(String space, String key, String ifMatch) {
        SpaceType t = writable(space);
        if (!objects.delete(t, key, ObjectStore.Condition.version(ifMatch))) {
            throw M31Problem.notFound("no object " + SpaceType.abbreviate(key) + " in space " + space);
        }
        return ResponseEntity.noContent().build();
    }

    @Override
    public ResponseEntity<StoredObject> patchLabels(String space, String key, LabelPatch patch, String ifMatch, String branch) {
        SpaceType t = writable(space, ObjectStore.touched(patch));
        StoredObject o = branch != null
                ? versions.patchLabels(t, key, branch, ObjectStore.check(patch), ObjectStore.Condition.version(ifMatch))
                : objects.patchLabels(t, key, patch, ObjectStore.Condition.version(ifMatch));
        return ResponseEntity.ok().eTag(etag(o.getVersion())).body(o);
    }

    @Override
    public ResponseEntity<VersionList> listVersions(String space, String key, String branch) {
        SpaceType t = readable(space);
        VersionList l = new VersionList();
        l.setVersions(versions.versions(t, key, branch));
        return ResponseEntity.ok(l);
    }

    @Override
    public ResponseEntity<Branch> makeBranch(String space, String key, BranchSpec spec) {
        SpaceType t = writable(space);
        Branch b = versions.branch(t, key, spec.getName(), spec.getFrom());
        return ResponseEntity.created(URI.create(uri(space, key) + "?branch=" + b.getName())).body(b);
    }

    @Override
    public ResponseEntity<List<Branch>> listBranches(String space, String key) {
        SpaceType t = readable(space);
        return ResponseEntity.ok(versions.branches(t, key));
    }

    @Override
    public ResponseEntity<Void> deleteBranch(String space, String key, String branch) {
        SpaceType t = writable(space);
        versions.deleteBranch(t, key, branch);
        return ResponseEntity.noContent().build();
    }

    @Override
    public ResponseEntity<StoredObject> mergeBranch(String space, String key, String branch) {
        SpaceType t = writable(space);
        StoredObject o = versions.merge(t, key, branch);
        return ResponseEntity.ok().eTag(etag(o.getVersion())).body(o);
    }
}
