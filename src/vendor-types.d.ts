// Types for packages that ship none for the entry we import.

declare module 'proxy-from-env' {
  /** The proxy URL for `url` from *_PROXY / ALL_PROXY and NO_PROXY, or '' for a direct connection. */
  export function getProxyForUrl(url: string | URL): string;
}

// The build plugin-throttling itself imports, so the bundle holds one Bottleneck.
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
