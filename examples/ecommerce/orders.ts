// The order model: what one generated order looks like and how likely each value is.
import { normal, sfc32, weighted, zipfRank } from "./random.ts";

/** One order, fields in the order they are written (JSONL keys, CSV columns). */
export interface Order {
  order_id: string;
  timestamp: string;
  month: string;
  customer: string;
  country: string;
  category: string;
  product: string;
  price_cents: number;
  quantity: number;
  status: string;
  note: string;
}

/** The fields of an order, in writing order (the CSV header). */
export const ORDER_FIELDS = [
  "order_id",
  "timestamp",
  "month",
  "customer",
  "country",
  "category",
  "product",
  "price_cents",
  "quantity",
  "status",
  "note",
] as const satisfies readonly (keyof Order)[];

/** Customers there are; a few of them place a large share of the orders. */
export const CUSTOMERS = 50_000;

/** Per category: popularity weight, median price (cents), spread of the log price, products. */
const CATEGORIES: readonly { name: string; weight: number; median: number; sigma: number; products: readonly string[] }[] = [
  { name: "Clothing", weight: 16, median: 3499, sigma: 0.55, products: ["T-shirt, cotton", "Jeans", "Rain jacket", "Socks, 3 pairs", "Sweater, wool"] },
  {
    name: "Electronics",
    weight: 14,
    median: 8999,
    sigma: 0.9,
    products: ["Headphones, wireless", "USB-C cable", "Phone case", "Smart speaker", "Laptop stand"],
  },
  { name: "Home & Kitchen", weight: 13, median: 2999, sigma: 0.7, products: ["Mug, ceramic", "Chef's knife", "Frying pan, 28 cm", "Bath towel", "Desk lamp"] },
  {
    name: "Books",
    weight: 12,
    median: 1499,
    sigma: 0.45,
    products: ["Paperback novel", "Cookbook", "Children's picture book", "Travel guide, Portugal", "Notebook, dotted"],
  },
  {
    name: "Grocery",
    weight: 10,
    median: 1299,
    sigma: 0.5,
    products: ["Coffee beans, 1 kg", "Olive oil", "Green tea, 100 bags", "Dark chocolate", "Honey, raw"],
  },
  { name: "Beauty", weight: 9, median: 1999, sigma: 0.6, products: ["Shampoo", "Face cream", "Lipstick", "Perfume, 50 ml", "Sunscreen SPF 50"] },
  { name: "Toys & Games", weight: 7, median: 2499, sigma: 0.6, products: ["Board game", "Puzzle, 1000 pieces", "Building blocks", "Plush bee", "Card game"] },
  {
    name: "Sports & Outdoors",
    weight: 7,
    median: 4499,
    sigma: 0.8,
    products: ["Yoga mat", "Water bottle, steel", "Running shoes", "Tent, 2 person", "Bike light"],
  },
  { name: "Pet Supplies", weight: 4, median: 2299, sigma: 0.6, products: ["Dog food, 5 kg", "Cat litter", "Chew toy", "Leash, 2 m", "Aquarium filter"] },
  {
    name: "Garden",
    weight: 4,
    median: 3999,
    sigma: 0.8,
    products: ["Seeds, mixed", "Garden hose, 20 m", "Pruning shears", "Plant pot, terracotta", "Bird feeder"],
  },
  {
    name: "Office Products",
    weight: 3,
    median: 1799,
    sigma: 0.7,
    products: ["Printer paper, 500 sheets", "Gel pens, 12", "Stapler", "Desk organiser", "Sticky notes"],
  },
  { name: "Jewelry", weight: 1, median: 12999, sigma: 1.0, products: ["Silver ring", "Gold necklace", "Earrings, pearl", "Watch, leather strap", "Bracelet"] },
];

const pickCategory = weighted(CATEGORIES.map((c) => [c, c.weight] as const));
const pickCountry = weighted([
  ["US", 30],
  ["DE", 10],
  ["GB", 10],
  ["BR", 8],
  ["FR", 7],
  ["CA", 6],
  ["MX", 4],
  ["IN", 4],
  ["JP", 4],
  ["ES", 4],
  ["IT", 4],
  ["PT", 3],
  ["NL", 3],
  ["AU", 3],
] as const);
const pickQuantity = weighted([
  [1, 70],
  [2, 18],
  [3, 7],
  [4, 3],
  [5, 2],
] as const);
const pickStatus = weighted([
  ["paid", 88],
  ["refunded", 5],
  ["cancelled", 4],
  ["pending", 3],
] as const);
// Shopping picks up towards the end of the year (Black Friday, Christmas).
const pickMonth = weighted([7, 6, 7, 7, 8, 8, 8, 8, 8, 9, 12, 14].map((w, m) => [m, w] as const));
// Most orders say nothing; some carry a comma or quotes; about 1 in 5,000 a line break, so a CSV
// of 200 MB holds a few hundred of those (a CSV dataset job takes up to 10,000).
const pickNote = weighted([
  ["", 9600],
  ["Gift wrap, please", 180],
  ['Leave at the "back door"', 120],
  ["Call on arrival", 98],
  ["Deliver after 6 pm\nRing twice", 2],
] as const);

/** The ISO time of a moment in 2025 (seconds precision) and its month: "2025-03-14T09:26:53Z", "2025-03". */
function moment(next: () => number): { timestamp: string; month: string } {
  const month = pickMonth(next);
  const start = Date.UTC(2025, month, 1);
  const end = Date.UTC(2025, month + 1, 1);
  const ms = start + Math.floor(next() * ((end - start) / 1000)) * 1000;
  const timestamp = new Date(ms).toISOString().replace(".000Z", "Z");
  return { timestamp, month: timestamp.slice(0, 7) };
}

/** Orders for one seed, one after another; order i is the same whatever is done with it. */
export function orderSource(seed: number): () => Order {
  const next = sfc32(seed);
  let index = 0;
  return () => {
    index++;
    const { timestamp, month } = moment(next);
    // Rank r becomes a customer number by a fixed permutation, so the heaviest buyers are scattered.
    const rank = zipfRank(next, CUSTOMERS);
    const customer = (rank * 7919 + 4567) % CUSTOMERS;
    const category = pickCategory(next);
    const product = category.products[Math.floor(next() * category.products.length)]!;
    // Log-normal around the category's median, priced to end in 99 cents.
    const raw = category.median * Math.exp(category.sigma * normal(next));
    const price = Math.max(99, Math.round(raw / 100) * 100 - 1);
    return {
      order_id: `o-${String(index).padStart(9, "0")}`,
      timestamp,
      month,
      customer: `c-${String(customer).padStart(5, "0")}`,
      country: pickCountry(next),
      category: category.name,
      product,
      price_cents: price,
      quantity: pickQuantity(next),
      status: pickStatus(next),
      note: pickNote(next),
    };
  };
}
