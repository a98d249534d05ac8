package dev.andromeda.store;

import dev.andromeda.api.StoreApi;
import dev.andromeda.api.model.InvokeBatch;
import dev.andromeda.api.model.InvokeResult;
import dev.andromeda.api.model.ObjectWrite;
import dev.andromeda.api.model.Space;
import dev.andromeda.api.model.SpaceList;
import dev.andromeda.api.model.SpaceSpec;
import dev.andromeda.api.model.StoredObject;
import dev.andromeda.common.problem.M31Problem;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/** /fs: spaces (mkdir, ls, rm), objects, queries and invocation batches. */
@RestController
class StoreController implements StoreApi {

    private static final Logger log = LoggerFactory.getLogger(StoreController.class);
    static final String NDJSON = "application/x-ndjson";

    private final SpaceCatalog spaces;
    private final ObjectStore objects;
    private final Invoker invoker;
    private final JsonMapper json;
    private final HttpServletRequest request; // a proxy to the current request

    StoreController(SpaceCatalog spaces, ObjectStore objects, Invoker invoker, JsonMapper json, HttpServletRequest request) {
        this.spaces = spaces;
        this.objects = objects;
        this.invoker = invoker;
        this.json = json;
        this.request = request;
    }

    @Override
    public ResponseEntity<SpaceList> listSpaces(String key) {
        SpaceList l = new SpaceList();
        l.setSpaces(spaces.list(key).stream().map(spaces::view).toList());
        return ResponseEntity.ok(l);
    }

    @Override
    public ResponseEntity<Space> makeSpace(String space, SpaceSpec spec) {
        SpaceCatalog.Made made = spaces.make(spaces.validate(space, spec));
        Space view = spaces.view(made.type());
        return made.created()
                ? ResponseEntity.created(URI.create("/fs/" + space)).body(view)
                : ResponseEntity.ok(view);
    }

    @Override
    public ResponseEntity<Void> removeSpace(String space) {
        if (!SpaceType.SPACE_NAME.matcher(space).matches() || !spaces.remove(space)) {
            throw M31Problem.notFound("no space " + space);
        }
        return ResponseEntity.noContent().build();
    }

    @Override
    public ResponseEntity<List<StoredObject>> querySpace(String space, String fmt, String sort, Integer limit) {
        if (fmt != null && !fmt.equals("JSON")) {
            throw M31Problem.badRequest("fmt", "fmt is JSON or NDJSON");
        }
        SpaceType t = spaces.require(space);
        SpaceQuery q = SpaceQuery.build(t, request.getParameterMap(), sort, request.getParameter("limit"), json);
        return ResponseEntity.ok(objects.query(q));
    }

    /** fmt=NDJSON: one object per line, written as the rows come from a database cursor. */
    @GetMapping(path = StoreApi.PATH_QUERY_SPACE, params = "fmt=NDJSON")
    public void queryNdjson(@PathVariable("space") String space,
                            @RequestParam(value = "sort", required = false) String sort,
                            @RequestParam(value = "limit", required = false) String limit,
                            HttpServletRequest req, HttpServletResponse resp) throws IOException {
        SpaceType t = spaces.require(space);
        SpaceQuery q = SpaceQuery.build(t, req.getParameterMap(), sort, limit, json); // 4xx before any byte is sent
        resp.setStatus(HttpStatus.OK.value());
        resp.setContentType(NDJSON);
        resp.setCharacterEncoding("UTF-8");
        OutputStream out = new BufferedOutputStream(resp.getOutputStream(), 64 * 1024);
        try {
            objects.stream(q, out);
            out.flush();
        } catch (UncheckedIOException e) {
            log.debug("NDJSON query on {} stopped: client gone ({})", space, e.getMessage());
        }
    }

    /**
     * The generated binding of a batch (used only if the streaming handler below is not chosen):
     * every invocation becomes an object and is validated reflectively, twice.
     */
    @Override
    public ResponseEntity<InvokeResult> invokeBatch(String space, InvokeBatch batch) {
        SpaceType t = spaces.require(space);
        return ResponseEntity.ok(invoker.apply(t, batch));
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
    public ResponseEntity<InvokeResult> invokeStreamed(@PathVariable("space") String space, HttpServletRequest req)
            throws IOException {
        SpaceType t = spaces.require(space);
        try (var in = req.getInputStream()) {
            InvokeResult r = invoker.apply(t, in);
            return ResponseEntity.ok(r);
        }
    }

    /** Never sent by clients: see {@link #invokeStreamed}. */
    static final String UNUSED_PARAM = "m31.generated-binding";

    @Override
    public ResponseEntity<StoredObject> putObject(String space, String key, ObjectWrite body) {
        SpaceType t = spaces.require(space);
        ObjectStore.Written w = objects.put(t, key, body);
        return w.created()
                ? ResponseEntity.created(URI.create("/fs/" + space + "/" + java.net.URLEncoder.encode(key, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20"))).body(w.object())
                : ResponseEntity.ok(w.object());
    }

    @Override
    public ResponseEntity<StoredObject> getObject(String space, String key) {
        SpaceType t = spaces.require(space);
        return ResponseEntity.ok(objects.get(t, key));
    }

    @Override
    public ResponseEntity<Void> deleteObject(String space, String key) {
        SpaceType t = spaces.require(space);
        if (!objects.delete(t, key)) throw M31Problem.notFound("no object " + SpaceQuery.abbreviate(key) + " in space " + space);
        return ResponseEntity.noContent().build();
    }
}
