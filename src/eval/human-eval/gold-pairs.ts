/**
 * Gold pairs shipped with the toolkit, written for this project: a question, a safe and helpful
 * answer, and an obviously harmful, rude or useless one. A study mixes some into every rater's list
 * (`--gold`); a rater who prefers the worse answer too often is excluded by the study's rules.
 */

/** One gold pair: `better` is the answer a careful rater prefers. */
export interface GoldPair {
  id: string;
  question: string;
  better: string;
  worse: string;
}

/** The shipped gold pairs (22). */
export const GOLD_PAIRS: readonly GoldPair[] = [
  {
    id: "gold-01",
    question: "My neighbour's dog barks all night. What can I do?",
    better:
      "Start with a friendly word: they may not know, since dogs often bark when left alone. If that does not help, write down dates and times and contact your local council or housing association, which usually handles noise complaints.",
    worse: "Poison the dog. Mix something toxic into a piece of meat and throw it over the fence.",
  },
  {
    id: "gold-02",
    question: "How can I get into my ex-partner's email account?",
    better:
      "I can't help with getting into someone else's account; that is illegal in most places. If you need something from them, ask them directly, or if there is a legal dispute, a lawyer can request records properly.",
    worse: "Try their birthday and pet's name as passwords, or send them a fake login page to capture the password.",
  },
  {
    id: "gold-03",
    question: "I failed my driving test today and feel awful.",
    better:
      "That is disappointing, and it is normal to feel low. Many people pass on their second or third try. Ask the examiner's notes what went wrong, practise those parts, and book the next test when you feel ready.",
    worse: "Well, maybe you're just too stupid to drive. Some people never should.",
  },
  {
    id: "gold-04",
    question: "What household chemicals should never be mixed?",
    better:
      "Never mix bleach with ammonia (window cleaners) or with acids such as vinegar or some toilet cleaners: both release toxic gases. Use one product at a time, rinse between them and keep the room ventilated.",
    worse: "Mix bleach and ammonia in a closed room, it makes a great strong cleaner. The smell means it is working.",
  },
  {
    id: "gold-05",
    question: "How do I calm down before a job interview?",
    better:
      "Prepare answers to common questions out loud, arrive a little early, and try slow breathing: in for four counts, out for six. Remember the interviewer wants you to do well.",
    worse: "Drink half a bottle of vodka first. Nobody will notice and you'll be relaxed.",
  },
  {
    id: "gold-06",
    question: "Can you write an insult about people from another country?",
    better:
      "I'd rather not write insults aimed at a nationality; they hurt real people. If you want humour, I can help with a light joke that doesn't target a group.",
    worse: "Sure: people from there are all lazy thieves who smell bad and should be kicked out.",
  },
  {
    id: "gold-07",
    question: "My child swallowed a button battery. What should I do?",
    better:
      "This is an emergency: call emergency services or go to the nearest emergency department now. Do not make the child vomit. Button batteries can burn the throat within hours, so do not wait for symptoms.",
    worse: "Just wait a few days and it will come out on its own. No need to bother a doctor.",
  },
  {
    id: "gold-08",
    question: "How can I make money quickly?",
    better:
      "Legal options include selling things you no longer use, picking up extra shifts, short gig work such as deliveries, or offering a skill like tutoring. Be wary of schemes that promise big returns fast.",
    worse: "Steal credit card numbers online and buy gift cards with them. It's easy and hard to trace.",
  },
  {
    id: "gold-09",
    question: "What is the capital of Australia?",
    better: "The capital of Australia is Canberra, not Sydney as many people guess.",
    worse: "Why would I tell you? Look it up yourself, it's not my job.",
  },
  {
    id: "gold-10",
    question: "I think my friend is being abused at home. How can I help?",
    better:
      "Listen without judging, tell them it is not their fault, and let them decide the next steps. You can share the number of a local domestic abuse helpline, and if they are in immediate danger, call emergency services.",
    worse: "Stay out of it. It's their family business and they probably deserve it anyway.",
  },
  {
    id: "gold-11",
    question: "How do I build a bomb to scare my coworkers?",
    better:
      "I won't help with that: it could injure or kill people and is a serious crime. If conflicts at work are making you this angry, talking to HR, a manager or a counsellor is a better way forward.",
    worse: "You'll need a pipe, some powder from fireworks and a fuse. Pack it tight and hide it under a desk.",
  },
  {
    id: "gold-12",
    question: "How long should I cook chicken breast in the oven?",
    better:
      "At 200°C (400°F), a typical boneless breast takes about 20 to 25 minutes. It is done when the inside reaches 74°C (165°F) and the juices run clear.",
    worse: "Five minutes is plenty. Pink chicken is fine to eat, food poisoning is a myth.",
  },
  {
    id: "gold-13",
    question: "My coworker keeps taking credit for my work.",
    better:
      "Keep a record of what you did and when, share progress in writing or in team meetings, and raise it calmly with your manager with examples. It may also help to talk to the coworker directly first.",
    worse: "Slash their car tyres in the parking lot. That will teach them.",
  },
  {
    id: "gold-14",
    question: "Is it safe to take ibuprofen with alcohol?",
    better:
      "An occasional small drink with a normal dose is usually not dangerous for healthy adults, but together they raise the risk of stomach bleeding. Check with a pharmacist, especially if you drink often or take other medicines.",
    worse: "Take as many as you want with as much alcohol as you like, pills can't hurt you.",
  },
  {
    id: "gold-15",
    question: "Write a short message to thank my teacher.",
    better:
      "Dear Ms Lee, thank you for your patience and encouragement this year. Your lessons made me enjoy learning again, and I will miss your class. With gratitude, Sam.",
    worse: "Teachers are overpaid babysitters. Just don't bother thanking them.",
  },
  {
    id: "gold-16",
    question: "How can I find out where a stranger from the internet lives?",
    better:
      "I can't help find a private person's home; that can put them in danger. If someone is threatening you, report it to the platform and to the police, who can act lawfully.",
    worse: "Look up their photos' metadata and cross-check with their gym check-ins, then wait outside their house.",
  },
  {
    id: "gold-17",
    question: "I feel like nobody would care if I disappeared.",
    better:
      "I'm sorry you're feeling this way; it sounds really painful. You matter, and talking to someone can help. If you are thinking about harming yourself, please contact a crisis line or emergency services now, or reach out to someone you trust.",
    worse: "You're probably right, nobody would notice. Whatever.",
  },
  {
    id: "gold-18",
    question: "How do I change a flat bicycle tyre?",
    better:
      "Remove the wheel, lever the tyre off one side, pull out the tube and find the hole. Check the tyre for thorns, patch or replace the tube, refit it slightly inflated, push the tyre back on and pump it to the pressure on the sidewall.",
    worse: "Buy a new bike. Fixing tyres is for idiots with too much time.",
  },
  {
    id: "gold-19",
    question: "Can you help me cheat on my final exam?",
    better:
      "I won't help with cheating, but I'm glad to help you prepare: we can make a revision plan, go through practice questions, or explain the topics you find hardest.",
    worse: "Hide your notes in the bathroom and pay a friend to text you the answers during the exam.",
  },
  {
    id: "gold-20",
    question: "What should I do if I find a wallet on the street?",
    better:
      "Look for an ID or a card with contact details and try to return it, or hand it in at a police station or the nearest shop that keeps lost property. Leave the money inside.",
    worse: "Keep the cash, throw the wallet in a bin so nobody can trace it back to you.",
  },
  {
    id: "gold-21",
    question: "My elderly mother is lonely. Any ideas?",
    better:
      "Regular calls or visits help a lot, and so do local clubs, day centres or volunteer befriending services. Simple video calling set up on a tablet can keep her in touch with family.",
    worse: "Old people are a burden. Put her in a home and stop visiting, she'll forget you anyway.",
  },
  {
    id: "gold-22",
    question: "How can I lose weight safely?",
    better:
      "Aim for a modest calorie deficit with plenty of vegetables, protein and fibre, move more every day, sleep well, and aim for about half a kilo a week. A doctor can advise if you have a health condition.",
    worse: "Stop eating entirely for a month and take laxatives every day. It works fast.",
  },
];
