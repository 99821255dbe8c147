/** The element with this id, or an error naming what dashboard.html lacks. */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`dashboard.html lacks #${id}`);
  return found as T;
}

/** Sets text only when it changed, so screen readers and layout are not disturbed needlessly. */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** A new element with a class and optional text. */
export function make<K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Appends nodes and text to `parent`. (Not `Element.append`: the Workers runtime types in this
 * project redeclare it for HTMLRewriter, which makes DOM calls with several nodes fail to type.)
 */
export function add(parent: Node, ...children: (Node | string)[]): void {
  for (const child of children) parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
}
