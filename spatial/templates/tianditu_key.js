// The Tianditu key is never written into this file: it comes from the address (#tk=KEY, removed
// from the address bar once read) or from this browser's localStorage, or the page asks for it.
(function () {
    var store = "spatial.tianditu.tk", key = null, m = /(?:^#|&)tk=([^&]+)/.exec(location.hash);
    if (m) {
        key = decodeURIComponent(m[1]);
        history.replaceState(null, "", location.pathname + location.search);
    }
    try { key = key || localStorage.getItem(store); } catch (e) {}
    key = key || window.prompt("天地图底图需要您的密钥（key），只保存在本浏览器中。") || "";
    try { if (key) { localStorage.setItem(store, key); } } catch (e) {}
    L.TileLayer.prototype.options.tk = function () { return encodeURIComponent(key); };
})();
