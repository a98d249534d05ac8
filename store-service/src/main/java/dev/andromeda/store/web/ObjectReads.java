package dev.andromeda.store.web;

import dev.andromeda.api.model.StoredObject;
import dev.andromeda.common.security.Access;
import dev.andromeda.common.security.Caller;
import dev.andromeda.store.objects.ObjectStore;
import dev.andromeda.store.space.SpaceCatalog;
import dev.andromeda.store.space.SpaceType;
import dev.andromeda.store.versions.VersionStore;
import org.springframework.stereotype.Component;

/**
 * {@code GET /fs/{space}/{key}}: who may read which object, in one place for the dispatcher's
 * {@link StoreController} and for {@link ReadFilter}. Not behind the generated interface's
 * validating proxy, so the filter calls it as a plain bean.
 */
@Component
class ObjectReads {

    private final SpaceCatalog spaces;
    private final ObjectStore objects;
    private final VersionStore versions;

    ObjectReads(SpaceCatalog spaces, ObjectStore objects, VersionStore versions) {
        this.spaces = spaces;
        this.objects = objects;
        this.versions = versions;
    }

    /** The object (at a version or on a branch when given); 401/403/404 as problems. */
    StoredObject read(String space, String key, Long version, String branch, Caller c) {
        SpaceType t = spaces.require(space);
        Access access = t.access();
        if (!access.canRead(c)) {
            // one object of a private space can be world-readable by its own labels; its history is not
            if (version == null && branch == null) {
                ObjectStore.checkKey(key);
                StoredObject o = objects.find(t, key).orElse(null);
                if (o != null && Access.of(o.getLabels()).worldReadable()) return o;
            }
            access.requireRead(c, "space " + space); // refuses, the same whether the object exists or not
        }
        return version == null && branch == null ? objects.get(t, key) : versions.read(t, key, branch, version);
    }

    static String etag(long version) {
        return "\"" + version + "\"";
    }
}
